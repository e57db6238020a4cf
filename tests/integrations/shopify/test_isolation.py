"""Shop A's data can't be read or changed through any endpoint with shop B's credentials.

A URL walk lists every route. Each one is either PUBLIC (with the reason it needs no shop credential) or has an
isolation check below (registered with @isolation_check) that attacks shop A with shop B's credential. A new view
that is neither fails `test_every_view_is_public_or_has_an_isolation_check`: add its check here.
PENDING names views that exist but whose owners have not written their check yet; it may only shrink.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from backend.catalog.models import Product
from backend.customers.models import Customer
from backend.shops.models import Shop
from tests.factories import make_shop

from .webhook_support import T2, customer_body, order_body, post_webhook, product_body, shop_fk_fields

# Reachable without a shop credential, and why that is safe.
PUBLIC: dict[str, str] = {
    "healthz": "reports database and broker health only",
    "shopify-install": "starts OAuth: HMAC-verified query, answers with a redirect, reads no shop data",
    "shopify-callback": "ends OAuth: HMAC + single-use state; writes only the shop named by the signed query",
    "shopify-patch-id-token": "renders App Bridge's token-refresh page; no shop data",
    "woocommerce-connect": "starts wc-auth for a store URL the merchant types; reads no shop data",
    "woocommerce-callback": "wc-auth posts keys for the pending connection named by its single-use token",
    "woocommerce-return": "browser return from wc-auth; shows shop data only to the session that started it",
    "storefront-ping": "liveness for the storefront script",
    "demostore-index": "the demo storefront: a public shop front by design",
    "demostore-asset": "static demo storefront assets",
    "demostore-image": "generated placeholder images",
    "demostore-home": "the demo storefront: public catalog pages by design",
    "demostore-collection": "the demo storefront: public catalog pages by design",
    "demostore-product": "the demo storefront: public catalog pages by design",
    "demostore-cart": "the demo storefront's cart lives in the visitor's session",
    "demostore-cart-add": "the demo storefront's cart lives in the visitor's session",
    "demostore-cart-add-js": "the demo storefront's cart lives in the visitor's session (Shopify's AJAX cart stand-in)",
    "dashboard-login": "the admin login form; shows nothing of any shop",
    "dashboard-login-link": "signed single-use login link: the link itself is the credential it checks",
    "dashboard-logout": "ends the session; shows nothing of any shop",
}

# Act for one shop; their isolation check is still to be written by the area's owner. Only ever remove from this.
PENDING: dict[str, str] = {
    "shopify-app-home": "session token names the shop (install/embedded-auth area)",
    "woocommerce-webhooks": "per-shop webhook secret (woocommerce area)",
    "woocommerce-plugin-config": "per-shop plugin signature (woocommerce area)",
    "woocommerce-plugin-disconnect": "per-shop plugin signature (woocommerce area)",
    "woocommerce-plugin-redact": "per-shop plugin signature (woocommerce area)",
    "storefront-widget": "shop public key + Origin (storefront area)",
    "storefront-proxy-widget": "app-proxy signature names the shop (storefront area)",
    "storefront-events": "shop public key + Origin (events area)",
    "storefront-proxy-events": "app-proxy signature names the shop (events area)",
    "storefront-popup": "shop public key + Origin (popups area)",
    "storefront-popup-consent": "shop public key + Origin; writes consent for that shop only (popups area)",
    "storefront-proxy-popup": "app-proxy signature names the shop (popups area)",
    "storefront-proxy-popup-consent": "app-proxy signature names the shop; writes consent for it only (popups area)",
}

CHECKS: dict[str, Callable] = {}


def isolation_check(*names: str) -> Callable[[Callable], Callable]:
    """Register fn(client, shop_a, shop_b) as the proof that the named views keep shop A out of B's reach."""
    def register(fn: Callable) -> Callable:
        for name in names:
            CHECKS[name] = fn
        return fn

    return register


def routes(patterns=None, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(route, key) for every URL pattern; the key is the URL name, or the view's dotted path if unnamed."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            view = getattr(p.callback, "view_class", None) or getattr(p.callback, "cls", None) or p.callback
            yield prefix + str(p.pattern), p.name or f"{view.__module__}.{view.__qualname__}"


def snapshot(shop: Shop) -> dict[str, list[dict]]:
    """Every row of the shop in every table, plus the shop row itself."""
    rows = {
        model._meta.label: list(model._base_manager.filter(**{attname: shop.pk}).order_by("pk").values())
        for model, attname in shop_fk_fields()
    }
    rows["shops.Shop"] = list(Shop.objects.filter(pk=shop.pk).values())
    return rows


# --- checks --------------------------------------------------------------------------------------------------------


@isolation_check("shopify-webhooks")
def webhooks_signed_for_b_cannot_touch_a(client, shop_a: Shop, shop_b: Shop) -> None:
    a, b = shop_a.domain, shop_b.domain
    for topic, body in [("collections/create", {"id": 3001, "title": "Hats", "updated_at": T2}),
                        ("products/create", product_body()), ("customers/create", customer_body()),
                        ("orders/create", order_body())]:
        assert post_webhook(client, topic, body, a).status_code == 200
    before = snapshot(shop_a)
    assert before["catalog.Product"] and before["orders.Order"] and before["customers.Customer"]

    # Correctly signed deliveries naming shop B, carrying shop A's ids.
    attacks = [
        ("products/update", product_body(title="Hijacked", updated_at="2030-01-01T00:00:00Z")),
        ("products/delete", {"id": 1001}),
        ("inventory_levels/update", {"inventory_item_id": 100100, "location_id": 1, "available": 0,
                                     "updated_at": "2030-01-01T00:00:00Z"}),
        ("collections/delete", {"id": 3001}),
        ("customers/delete", {"id": 501}),
        ("orders/cancelled", {**order_body(updated_at="2030-01-01T00:00:00Z"), "cancelled_at": T2}),
        ("refunds/create", {"id": 1, "order_id": 9001, "transactions": [{"kind": "refund", "amount": "250.00"}]}),
        ("customers/data_request", {"shop_domain": b, "customer": {"id": 501, "email": "zelda.quimby@example.org"},
                                    "orders_requested": [9001], "data_request": {"id": 1}}),
        ("customers/redact", {"shop_domain": b, "customer": {"id": 501, "email": "zelda.quimby@example.org"},
                              "orders_to_redact": [9001]}),
        ("app/uninstalled", {"myshopify_domain": b}),
        ("shop/redact", {"shop_domain": b}),
    ]
    for topic, body in attacks:
        assert post_webhook(client, topic, body, b).status_code == 200, topic
    # Shop B's own rows got the writes (so the attack was processed, not dropped)...
    assert not Shop.objects.filter(pk=shop_b.pk).exists()
    # ...and shop A is exactly as it was.
    assert snapshot(shop_a) == before
    # A body naming shop A under B's header is refused outright.
    resp = post_webhook(client, "customers/redact", {"shop_domain": a, "customer": {"id": 501}}, b)
    assert resp.status_code == 400
    resp = post_webhook(client, "shop/redact", {"shop_domain": a}, b)
    assert resp.status_code == 400
    assert snapshot(shop_a) == before


@isolation_check("woocommerce-status", "woocommerce-disconnect")
def woocommerce_admin_pages_need_the_shops_own_session(client, shop_a: Shop, shop_b: Shop) -> None:
    from integrations.woocommerce.views import SESSION_SHOPS

    woo_a = make_shop("shop-a.example", platform=Shop.Platform.WOOCOMMERCE)
    woo_b = make_shop("shop-b.example", platform=Shop.Platform.WOOCOMMERCE)
    session = client.session
    session[SESSION_SHOPS] = [woo_b.pk]  # the merchant of shop B, logged in
    session.save()
    assert client.get(f"/woocommerce/shops/{woo_b.pk}/").status_code == 200
    before = snapshot(woo_a)
    resp = client.get(f"/woocommerce/shops/{woo_a.pk}/")
    assert resp.status_code == 403 and woo_a.domain not in resp.content.decode()
    assert client.post(f"/woocommerce/shops/{woo_a.pk}/disconnect", {"erase_data": "1"}).status_code == 403
    assert snapshot(woo_a) == before


@isolation_check("storefront-popup-claim", "storefront-proxy-popup-claim")
def popup_claims_with_b_credentials_never_take_a_code_of_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's public key, or an app-proxy request signed for B, naming shop A's campaign: no code of A moves."""
    import json
    from urllib.parse import urlencode

    from django.conf import settings

    from tests.popups.conftest import BROWSER_UA
    from tests.popups.factories import fill_pool, make_campaign
    from tests.popups.test_api import _proxy_query

    campaign = make_campaign(shop_a)
    fill_pool(campaign)
    before = snapshot(shop_a)
    body = {"key": shop_b.public_key, "campaign": campaign.pk, "visitor": "visitor-of-b", "locale": "en"}
    resp = client.post("/api/storefront/popup/claim", json.dumps(body), content_type="text/plain",
                       HTTP_USER_AGENT=BROWSER_UA)
    assert resp.status_code == 404, resp.content
    signed = urlencode(_proxy_query(shop_b.domain, settings.SHOPIFY_API_SECRET))
    resp = client.post(f"/api/storefront/proxy/popup/claim?{signed}", json.dumps(body), content_type="text/plain",
                       HTTP_USER_AGENT=BROWSER_UA)
    assert resp.status_code == 404, resp.content
    assert snapshot(shop_a) == before


@isolation_check("storefront-popup-exposure", "storefront-proxy-popup-exposure")
def holdout_reports_with_b_credentials_never_count_in_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """A hold-out report for shop A's experiment, with A's own valid token, sent under shop B's public key or an
    app-proxy request signed for B: refused, and no exposure of A is written."""
    import json
    from urllib.parse import urlencode

    from django.conf import settings

    from backend.experiments.models import Experiment
    from backend.experiments.runtime import forget_running
    from backend.popups.holdout import sign
    from tests.popups.conftest import BROWSER_UA
    from tests.popups.factories import make_campaign
    from tests.popups.test_api import _proxy_query
    from tests.popups.test_holdout_exposure import ARMS, visitor_in

    campaign = make_campaign(shop_a)
    exp = Experiment.objects.create(shop=shop_a, name="popup or not", target_kind="popup",
                                    target_key=str(campaign.pk), status="running", salt="s1", arms=ARMS)
    forget_running(shop_a)
    visitor = visitor_in(exp, "holdout")
    body = {"campaign": campaign.pk, "experiment": str(exp.pk), "arm": "holdout", "visitor": visitor,
            "token": sign(shop_a.pk, campaign.pk, str(exp.pk), "holdout", visitor)}
    before = snapshot(shop_a)
    resp = client.post("/api/storefront/popup/exposure", json.dumps({"key": shop_b.public_key, **body}),
                       content_type="text/plain", HTTP_USER_AGENT=BROWSER_UA)
    assert 400 <= resp.status_code < 500 and resp.status_code != 429, resp.content
    signed = urlencode(_proxy_query(shop_b.domain, settings.SHOPIFY_API_SECRET))
    resp = client.post(f"/api/storefront/proxy/popup/exposure?{signed}", json.dumps(body), content_type="text/plain",
                       HTTP_USER_AGENT=BROWSER_UA)
    assert 400 <= resp.status_code < 500 and resp.status_code != 429, resp.content
    assert snapshot(shop_a) == before
    # The same report under A's own key is counted: the refusals above were about the credential, not the body.
    resp = client.post("/api/storefront/popup/exposure", json.dumps({"key": shop_a.public_key, **body}),
                       content_type="text/plain", HTTP_USER_AGENT=BROWSER_UA)
    assert resp.status_code == 201, resp.content


@isolation_check("shopify-grant")
def scope_grant_signed_for_b_only_ever_asks_for_b(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant asking to grant a scope, even naming shop A in the query, is sent to B's authorize page."""
    from tests.dashboard.factories import session_token

    before = snapshot(shop_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}
    resp = client.get("/shopify/grant", {"scope": "write_customers", "shop": shop_a.domain}, **auth)
    assert resp.status_code == 302, resp.status_code
    assert resp["Location"].startswith(f"https://{shop_b.domain}/admin/oauth/authorize"), resp["Location"]
    assert shop_a.domain not in resp["Location"]
    assert client.get("/shopify/grant", {"scope": "write_customers", "shop": shop_a.domain}).status_code == 401
    assert snapshot(shop_a) == before


MERCHANT_SCREENS = (
    "storefront-widgets-admin", "storefront-widget-rule-api", "customers-merges", "segments-list", "segments-edit",
    "segments-new", "segments-preview", "dashboard-home", "dashboard-analytics", "dashboard-analytics-recompute",
    "dashboard-analytics-api", "dashboard-audit", "dashboard-settings", "dashboard-export", "experiments-list",
    "experiments-detail", "experiments-action", "experiments-api", "experiments-api-detail", "experiments-api-action",
    "popups-list", "popups-edit", "popups-new", "popups-preview",
)


@isolation_check(*MERCHANT_SCREENS)
def merchant_screens_signed_for_b_never_show_or_change_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant (a valid session token for B) walks every admin screen and API aimed at A's objects."""
    from backend.customers.models import Customer
    from backend.experiments.models import Experiment
    from backend.popups.models import Campaign
    from backend.segments.models import Segment
    from backend.shops.models import CustomerDataExport
    from backend.storefront.models import WidgetRule
    from tests.dashboard.factories import session_token

    secret = "zz-secret-of-shop-a"
    Customer.objects.create(shop=shop_a, platform_id="501", email=f"{secret}@example.org", country="ES")
    seg = Segment.objects.create(shop=shop_a, slug="a-vip", name=f"{secret} segment", rules={"all": []})
    exp = Experiment.objects.create(shop=shop_a, name=f"{secret} test", target_key="also_bought",
                                    arms=[{"key": "control", "weight": 1}, {"key": "b", "weight": 1}])
    camp = Campaign.objects.create(shop=shop_a, name=f"{secret} campaign")
    export = CustomerDataExport.objects.create(shop=shop_a, request_id=secret, data={"email": secret})
    WidgetRule.objects.create(shop=shop_a, widget="also_bought", title_en=f"{secret} title")
    before = snapshot(shop_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}

    for url in ["/admin/", "/admin/settings/", "/admin/audit/", "/admin/analytics/", "/api/admin/analytics",
                "/admin/segments/", "/admin/segments/new/", "/admin/popups/", "/admin/popups/new/",
                "/admin/experiments/", "/api/admin/experiments", "/admin/widgets/",
                "/api/admin/widgets/also_bought", "/admin/customers/merges/"]:
        resp = client.get(url, **auth)
        assert resp.status_code == 200, (url, resp.status_code)
        assert secret not in resp.content.decode(), url
    for url in [f"/admin/segments/{seg.pk}/", f"/admin/popups/{camp.pk}/", f"/admin/experiments/{exp.pk}/",
                f"/api/admin/experiments/{exp.pk}", f"/admin/settings/exports/{export.pk}.json"]:
        assert client.get(url, **auth).status_code == 404, url
    for url in [f"/admin/experiments/{exp.pk}/start/", f"/api/admin/experiments/{exp.pk}/start",
                f"/admin/segments/{seg.pk}/", f"/admin/popups/{camp.pk}/"]:
        assert client.post(url, {"name": "hijacked"}, **auth).status_code == 404, url
    for url, body in [("/admin/segments/preview/", {"all": []}), ("/admin/popups/preview/", {"name": "x"})]:
        resp = client.post(url, body, content_type="application/json", **auth)
        assert resp.status_code < 500 and secret not in resp.content.decode(), url
    client.put("/api/admin/widgets/also_bought", {"title_en": "hijacked"}, content_type="application/json", **auth)
    client.post("/admin/analytics/recompute/", **auth)
    assert snapshot(shop_a) == before


@isolation_check("recommendations-product-rules")
def product_rules_signed_for_b_never_show_or_change_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant sees none of A's products or rules, and cannot remove, mark or build on A's ids."""
    from backend.catalog.models import Product
    from backend.recommendations.complementary import save_rule
    from backend.recommendations.models import ComplementaryRule, ProductPreference
    from tests.dashboard.factories import session_token

    secret = "zz-secret-of-shop-a"
    jacket, hat = (Product.objects.create(shop=shop_a, platform_id=f"9{i}", title=f"{secret} {i}") for i in (1, 2))
    rule = save_rule(shop_a, source_product=jacket.pk, target_products=[hat.pk])
    ProductPreference.objects.create(shop=shop_a, product=hat, rebuyable=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}
    resp = client.get("/admin/product-rules/", **auth)
    assert resp.status_code == 200 and secret not in resp.content.decode()
    assert client.post("/admin/product-rules/", {"action": "remove_rule", "rule": rule.pk}, **auth).status_code == 404
    for form in ({"action": "remove_rebuyable", "product": hat.pk},
                 {"action": "add_rebuyable", "rebuy_product": jacket.platform_id},
                 {"action": "add_rule", "source_product": jacket.platform_id, "target_products": [hat.platform_id]}):
        assert client.post("/admin/product-rules/", form, **auth).status_code == 400, form
    assert list(ComplementaryRule.all_shops.values_list("pk", flat=True)) == [rule.pk]
    assert list(ProductPreference.all_shops.values_list("product_id", "rebuyable")) == [(hat.pk, True)]


@isolation_check("recommendations-audiences", "dashboard-sync-api")
def audiences_and_sync_signed_for_b_never_show_or_change_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant sees neither A's audiences, A's tags nor A's sync, and cannot remove or overwrite them."""
    from backend.customers.models import Customer
    from backend.recommendations.models import AudienceMapping
    from backend.shops.models import SyncRun
    from tests.dashboard.factories import session_token

    secret = "zz-secret-of-shop-a"
    mapping = AudienceMapping.objects.create(shop=shop_a, value="women", customer_tag=f"{secret}-tag")
    Customer.objects.create(shop=shop_a, platform_id="77", tags=[f"{secret}-customer-tag"])
    SyncRun.objects.create(shop=shop_a, status=SyncRun.Status.FAILED, rows_done=7, rows_total=70)
    before = snapshot(shop_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}
    resp = client.get("/admin/audience-tags/", **auth)
    assert resp.status_code == 200 and secret not in resp.content.decode()
    assert client.post("/admin/audience-tags/", {"action": "remove", "audience": mapping.pk}, **auth).status_code == 404
    # The same audience name in B is B's own audience, never A's row.
    assert client.post("/admin/audience-tags/", {"action": "save", "value": "women", "customer_tag": "hijacked"},
                       **auth).status_code == 302
    assert client.get("/api/admin/sync", **auth).status_code == 404  # B has no sync; A's is not B's
    assert snapshot(shop_a) == before


# --- the walk ------------------------------------------------------------------------------------------------------


def test_every_view_is_public_or_has_an_isolation_check():
    keys = {key for _, key in routes()}
    unchecked = sorted(f"{route} ({key})" for route, key in routes()
                       if key not in PUBLIC and key not in CHECKS and key not in PENDING)
    assert not unchecked, (
        "views without a shop-isolation check; add one to tests/integrations/shopify/test_isolation.py "
        f"(or to PUBLIC, with the reason no shop credential is needed): {unchecked}"
    )
    stale = sorted((set(PUBLIC) | set(CHECKS) | set(PENDING)) - keys)
    assert not stale, f"entries for views that no longer exist: {stale}"
    assert not (set(CHECKS) & (set(PUBLIC) | set(PENDING)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One case per registered check, counted once the whole module has run: checks registered below this test
    (a decorator argument here would see only those above it) are cases too."""
    if metafunc.function.__name__ == "test_shop_b_credentials_cannot_reach_shop_a":
        metafunc.parametrize("check", sorted({fn.__name__ for fn in CHECKS.values()}))


def test_shop_b_credentials_cannot_reach_shop_a(check, client, db, eager_celery):
    shop_a = make_shop("alpha.myshopify.com")
    shop_b = make_shop("beta.myshopify.com")
    next(fn for fn in CHECKS.values() if fn.__name__ == check)(client, shop_a, shop_b)



def test_webhook_check_leaves_products_and_customers_of_a_alone(client, db, eager_celery):
    """The webhook check above, asserted on domain objects too (a snapshot bug cannot hide a leak)."""
    a, b = make_shop("alpha.myshopify.com"), make_shop("beta.myshopify.com")
    webhooks_signed_for_b_cannot_touch_a(client, a, b)
    assert Product.objects.for_shop(a).get().title == "Alpine Jacket"
    assert Customer.objects.for_shop(a).get().email == "zelda.quimby@example.org"


@isolation_check("catalog-search", "storefront-widget-preview", "storefront-widget-preview-api",
                 "storefront-widget-preview-events")
def widget_pickers_and_previews_signed_for_b_never_show_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant searches the pickers and previews widgets with A's ids: only B's catalogue answers, and a
    preview address names its shop under a signature B cannot redo for A."""
    import re

    from django.core import signing

    from backend.storefront import preview
    from tests.dashboard.factories import session_token

    secret = "zz-secret-of-shop-a"
    Product.objects.create(shop=shop_a, platform_id="7001", title=f"{secret} product", image_url="/a.svg")
    Product.objects.create(shop=shop_b, platform_id="8001", title="B's own mug")
    before = snapshot(shop_a)
    token = session_token(shop_b)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for kind in ("product", "collection"):
        found = client.get("/api/admin/catalog/search", {"kind": kind, "q": "zz"}, **auth)
        assert found.status_code == 200 and secret not in found.content.decode()
    page = client.get("/admin/widgets/preview/bestsellers/", {"id_token": token, "product": "7001"})
    html = page.content.decode()
    assert page.status_code == 200 and secret not in html and 'data-product="8001"' in html
    refused = client.get("/admin/widgets/preview/bestsellers/", {
        "id_token": token, "bestsellers-limit": "8", "bestsellers-pinned_products": "7001"}).content.decode()
    assert "data-api" not in refused and secret not in refused
    api = re.search(r'data-api="([^"]+)"', html).group(1)
    assert secret not in client.get(f"{api}/widgets/bestsellers").content.decode()
    # B's signed settings re-aimed at A: without the app's key the signature cannot follow.
    data = signing.loads(api.rsplit("/", 1)[1], salt=preview.SALT)
    forged = signing.dumps({**data, "s": shop_a.pk}, salt=preview.SALT + "x", compress=True)
    assert client.get(f"/admin/widgets/preview/api/{forged}/widgets/bestsellers").status_code == 404
    assert client.post(f"{api}/events", "{}", content_type="text/plain").status_code == 204
    assert snapshot(shop_a) == before


@isolation_check("audiences-list", "audiences-update", "audiences-export")
def ad_audiences_signed_for_b_never_show_run_or_export_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant sees neither A's audience nor A's ad account, cannot run, pause or export A's audience,
    and cannot build an audience on A's ad connection."""
    from backend.audiences.models import AdConnection, Audience
    from backend.audiences.presets import create_from_preset
    from tests.dashboard.factories import session_token

    secret = "9876543210"  # A's ad account id: shown on A's screen only
    connection = AdConnection.objects.create(shop=shop_a, platform="meta", account_id=secret, access_token="tok-a")
    audience = create_from_preset("vip", connection)
    Customer.objects.create(shop=shop_a, platform_id="601", email="zz-secret-buyer@example.org",
                            accepts_marketing=True)
    before = snapshot(shop_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}
    resp = client.get("/admin/audiences/", **auth)
    page = resp.content.decode()
    assert resp.status_code == 200 and secret not in page and f"/admin/audiences/{audience.pk}/" not in page
    for form in ({"action": "run"}, {"action": "pause"}, {"action": "refresh", "refresh_minutes": "60"}):
        assert client.post(f"/admin/audiences/{audience.pk}/", form, **auth).status_code == 404, form
    for fmt in ("meta", "google", "tiktok", "pinterest"):
        resp = client.get(f"/admin/audiences/{audience.pk}/export/{fmt}.csv", **auth)
        assert resp.status_code == 404, fmt
    # A's connection id posted by B: refused, no audience made anywhere.
    resp = client.post("/admin/audiences/", {"action": "create", "preset": "vip", "connection": connection.pk}, **auth)
    assert resp.status_code == 400
    assert not Audience.objects.for_shop(shop_b).exists()
    assert snapshot(shop_a) == before


@isolation_check("recipes-list", "recipes-new", "recipes-edit", "recipes-preview")
def recipes_signed_for_b_never_show_edit_or_preview_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """Shop B's merchant cannot see, toggle, edit, test-send or preview A's recipe, nor preview as A's customer; a
    recipe B starts from scratch is B's, and A's names are no clash for it."""
    from backend.customers.identities import resolve_customer
    from backend.recipes.models import Recipe
    from backend.recipes.presets import enable_preset
    from tests.dashboard.factories import session_token

    recipe, _ = enable_preset(shop_a, "win-back")
    Recipe.objects.for_shop(shop_a).filter(pk=recipe.pk).update(name="zz-secret recipe")
    secret = "zz-secret-customer@example.org"
    resolve_customer(Customer.objects.create(shop=shop_a, platform_id="701", email=secret, first_name="Zelda"))
    mine, _ = enable_preset(shop_b, "win-back")
    before = snapshot(shop_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {session_token(shop_b)}"}
    resp = client.get("/admin/recipes/", **auth)
    assert resp.status_code == 200 and "zz-secret" not in resp.content.decode()
    assert client.post("/admin/recipes/", {"action": "toggle", "recipe": recipe.pk}, **auth).status_code == 404
    assert client.get(f"/admin/recipes/{recipe.pk}/", **auth).status_code == 404
    assert client.post(f"/admin/recipes/{recipe.pk}/", {"cooldown_hours": "1"}, **auth).status_code == 404
    assert client.post(f"/admin/recipes/{recipe.pk}/", {"action": "test", "step": "0", "to": "b@example.org"},
                       **auth).status_code == 404
    assert client.get(f"/admin/recipes/{recipe.pk}/preview/", {"step": 0}, **auth).status_code == 404
    # B's own recipe previewed "as" A's customer: A's customer is not found in B, nothing of theirs is shown.
    resp = client.get(f"/admin/recipes/{mine.pk}/preview/", {"step": 0, "customer": secret}, **auth)
    assert resp.status_code == 200 and "Zelda" not in resp.content.decode()
    resp = client.get("/admin/recipes/new/", **auth)
    assert resp.status_code == 200 and "zz-secret" not in resp.content.decode()
    created = client.post("/admin/recipes/new/", {"trigger": "order_placed", "name": "zz-secret recipe"}, **auth)
    assert created.status_code == 302
    assert Recipe.objects.for_shop(shop_b).filter(name="zz-secret recipe", enabled=False).exists()
    assert client.post(f"/admin/recipes/{recipe.pk}/", {"action": "toggle"}, **auth).status_code == 404
    assert snapshot(shop_a) == before


def _email_send(shop: Shop, email: str) -> tuple:
    """A recipe run of `shop` for a customer with `email`, and the send of its first step."""
    from backend.customers.identities import resolve_customer
    from backend.emails.models import EmailSend
    from backend.recipes.models import RecipeRun
    from backend.recipes.presets import enable_preset

    recipe, _ = enable_preset(shop, "win-back")
    profile = resolve_customer(Customer.objects.create(shop=shop, platform_id="801", email=email,
                                                       accepts_marketing=True))
    run = RecipeRun.objects.create(shop=shop, recipe=recipe, profile=profile, trigger_key="t")
    send = EmailSend.objects.create(shop=shop, run=run, recipe=recipe, profile=profile, to_email=email,
                                    status=EmailSend.Status.SENT, language="en")
    return profile, send


@isolation_check("email-click", "email-unsubscribe")
def email_tokens_signed_for_a_cannot_be_turned_on_b(client, shop_a: Shop, shop_b: Shop) -> None:
    """A click or unsubscribe token names its shop and send inside the app's signature: re-aimed at B's send or
    B's shop it is refused (4xx, nothing written), and used as issued it touches only A's rows."""
    from django.core import signing

    from backend.emails import consent, links
    from backend.emails.models import EmailClick

    email = "shared.shopper@example.org"  # a shopper of both shops
    _pa, send_a = _email_send(shop_a, email)
    _pb, send_b = _email_send(shop_b, email)
    click_a = links.click_url(send_a.pk, "https://alpha.myshopify.com/products/x").rsplit("/", 1)[1]
    data = signing.loads(click_a, salt=links.CLICK_SALT)
    for forged in (signing.dumps({**data, "s": send_b.pk}, salt=links.CLICK_SALT + "x", compress=True),
                   click_a[:-3] + ("abc" if not click_a.endswith("abc") else "xyz")):
        assert client.get(f"/e/c/{forged}").status_code == 400
    assert not EmailClick.all_shops.exists()
    assert client.get(f"/e/c/{click_a}").status_code == 302
    assert list(EmailClick.all_shops.values_list("shop_id", "send_id")) == [(shop_a.pk, send_a.pk)]

    unsub_a = links.unsubscribe_token(shop_a.pk, email)
    forged = signing.dumps({"h": shop_b.pk, "e": email}, salt=links.UNSUBSCRIBE_SALT + "x", compress=True)
    assert client.post(f"/e/u/{forged}").status_code == 400
    assert client.post(f"/e/u/{unsub_a[:-3]}xyz").status_code == 400
    assert not consent.is_suppressed(shop_a.pk, email) and not consent.is_suppressed(shop_b.pk, email)
    before_b = snapshot(shop_b)
    assert client.post(f"/e/u/{unsub_a}").status_code == 200
    assert consent.is_suppressed(shop_a.pk, email) and not consent.is_suppressed(shop_b.pk, email)
    assert snapshot(shop_b) == before_b


@isolation_check("email-open-feed", "email-open-image", "email-open-click")
def open_blocks_keyed_for_b_never_read_a(client, shop_a: Shop, shop_b: Shop) -> None:
    """B's public key with B's feed secret reads B's customers only; B's key with A's secret, A's key with B's
    secret, and A's slot tokens under B's key (or B's under A's) are all refused."""
    from urllib.parse import urlsplit

    from backend.emails import openblocks

    email = "zz-secret-opener@example.org"
    profile_a, _send = _email_send(shop_a, email)
    before = snapshot(shop_a)
    for key, secret in ((shop_b.public_key, openblocks.feed_key(shop_a)),
                        (shop_a.public_key, openblocks.feed_key(shop_b))):
        assert client.get(f"/email/{key}/feed.json", {"key": secret, "email": email}).status_code == 403
    resp = client.get(f"/email/{shop_b.public_key}/feed.json", {"key": openblocks.feed_key(shop_b), "email": email})
    assert resp.status_code == 200 and resp.json() == {"products": []}  # A's customer is no one in B
    token_a = openblocks.token(shop_a.pk, profile_a.pk)
    assert client.get(f"/email/{shop_a.public_key}/0.png", {"t": token_a}).status_code == 200  # the control
    for key, tok in ((shop_b.public_key, token_a), (shop_a.public_key, openblocks.token(shop_b.pk, profile_a.pk))):
        assert client.get(f"/email/{key}/0.png", {"t": tok}).status_code == 400
        assert client.get(f"/email/{key}/0/go", {"t": tok}).status_code == 400
    go = client.get(f"/email/{shop_a.public_key}/0/go", {"t": token_a})
    assert go.status_code == 302 and urlsplit(go["Location"]).hostname == shop_a.domain
    assert snapshot(shop_a) == before
