"""Every admin screen fits a 390 px phone (no sideways scrolling) in both languages, and the navigation folds into
a menu button that opens without JavaScript."""
from __future__ import annotations

import pytest
from django.utils import timezone

from tests.dashboard.factories import member
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("cockpit")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def screens(live_server):
    """A demo shop with data on every screen, and the paths of all its admin screens."""
    from django.core.cache import cache

    from backend.dashboard import audit
    from backend.dashboard.rollups import rollup_shop
    from backend.demostore.sample import seed_store
    from backend.experiments.models import Experiment
    from backend.segments.models import Segment
    from backend.storefront.access import forget_shops

    cache.clear()
    forget_shops()
    store = seed_store(origin=live_server.url)
    shop = store.shop
    rollup_shop(shop)
    segment = Segment.objects.create(
        shop=shop, slug="compradores-frecuentes-de-temporada-alta", name="Compradores frecuentes de temporada alta",
        rules={"all": [{"field": "orders_count", "op": "gte", "value": 2}, {"field": "total_spent", "op": "between",
                                                                           "value": [100, 5000]}]})
    exp = Experiment.objects.create(
        shop=shop, name="Algoritmo de también compraron", target_key="also_bought", status="running",
        started_at=timezone.now(), arms=[{"key": "control", "weight": 1, "config": {}},
                                         {"key": "parecidas", "weight": 1, "config": {"algorithm": "cosine"}}])
    audit.record(shop, "user:ana.maria.fernandez@example.com", "widget_rule.update", "widget:also_bought",
                 {"widget": "also_bought", "pinned_products": [str(9001 + i) for i in range(30)]},
                 {"widget": "also_bought", "pinned_products": []})
    from tests.popups.factories import fill_pool, make_campaign

    campaign = make_campaign(shop, name="Regalo de despedida para compradores frecuentes de temporada alta",
                             email_capture=True, include_segments=["segment:compradores-frecuentes-de-temporada-alta"])
    fill_pool(campaign, per_offer=2)
    from backend.recipes.presets import enable_preset

    recipe, _ = enable_preset(shop, "abandoned-cart")
    dated, _ = enable_preset(shop, "first-order-anniversary")
    from backend.recipes.models import Recipe

    scratch = Recipe.objects.create(shop=shop, key="custom-bienvenida", trigger="segment_entered", steps=[],
                                    name="Bienvenida a quienes entran en compradores frecuentes de temporada alta",
                                    trigger_config={"segment": ""})
    member(shop)
    from backend.audiences.models import AdConnection, Audience

    connection = AdConnection.objects.create(shop=shop, platform="google", account_id="123-456-7890",
                                             access_token="t")
    Audience.objects.create(shop=shop, name="Vieron un producto y no compraron en los últimos catorce días",
                            source="recency", activity="product_viewed", days=14, connection=connection, size=42,
                            last_run_at=timezone.now(), last_result="failed",
                            last_error="Google 503: The service is unavailable. Please retry later, nothing was lost")
    yield ["/admin/audiences/", "/admin/recipes/", f"/admin/recipes/{recipe.pk}/",
           f"/admin/recipes/{dated.pk}/", "/admin/recipes/new/", f"/admin/recipes/{scratch.pk}/",
           "/admin/popups/", "/admin/popups/new/", f"/admin/popups/{campaign.pk}/",
           "/admin/", "/admin/widgets/", "/admin/widgets/preview/bestsellers/", "/admin/segments/",
           "/admin/segments/new/", f"/admin/segments/{segment.pk}/",
           "/admin/customers/merges/", "/admin/experiments/", f"/admin/experiments/{exp.pk}/",
           f"/admin/experiments/{exp.pk}/?confirm=stop", "/admin/analytics/", "/admin/analytics/?days=7",
           "/admin/settings/", "/admin/audit/", "/admin/product-rules/", "/admin/audience-tags/"]
    forget_shops()
    cache.clear()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_screen_fits_a_phone_and_the_menu_folds(browser, live_server, screens, lang):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?lang={lang}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("#username", "ana@example.com")
    page.fill("#password", "correct horse 42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    wide = {}
    for path in screens:
        page.goto(f"{live_server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}

    # The nav is folded behind a menu button, which opens it with no JavaScript at all.
    page.goto(f"{live_server.url}/admin/?lang={lang}")
    link = page.locator("nav.side a[href^='/admin/settings/']")
    assert not link.is_visible()
    page.click("nav.side .menu-button")
    assert link.is_visible()
    link.click()
    page.wait_for_url(f"{live_server.url}/admin/settings/**")
    context.close()


def test_wide_screens_keep_the_side_nav_open(browser, live_server, screens):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#username", "ana@example.com")
    page.fill("#password", "correct horse 42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("nav.side a[href^='/admin/settings/']").is_visible()
    assert not page.locator("nav.side .menu-button").is_visible()
    context.close()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_popup_screens_fit_a_phone_embedded(browser, live_server, screens, lang):
    """Inside the Shopify admin (session token, no cookies) the popup screens fit too, and their links lead on to
    the next screen instead of the "open this screen from your shop's admin" dead end."""
    from backend.shops.models import Shop
    from tests.dashboard.factories import session_token

    shop = Shop.objects.get()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.route("https://cdn.shopify.com/**", lambda route: route.abort())  # App Bridge: no internet here
    page = context.new_page()
    wide = {}
    for path in (p for p in screens if p.startswith("/admin/popups/")):
        page.goto(f"{live_server.url}{path}?lang={lang}&id_token={session_token(shop)}")
        assert page.locator("nav.side").count() == 1, path
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}
    page.goto(f"{live_server.url}/admin/popups/?lang={lang}&id_token={session_token(shop)}")
    page.click("#new-campaign")  # a plain link here (no JavaScript): it must carry the token itself
    page.wait_for_url(f"{live_server.url}/admin/popups/new/**")
    assert page.locator("#campaign-form").count() == 1
    context.close()
