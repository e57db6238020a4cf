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
    for form in ({"action": "remove_rebuyable", "product": hat.pk}, {"action": "add_rebuyable", "product": jacket.pk},
                 {"action": "add_rule", "source": f"p:{jacket.pk}", "targets": [f"p:{hat.pk}"]}):
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
    resp = client.get("/admin/audiences/", **auth)
    assert resp.status_code == 200 and secret not in resp.content.decode()
    assert client.post("/admin/audiences/", {"action": "remove", "audience": mapping.pk}, **auth).status_code == 404
    # The same audience name in B is B's own audience, never A's row.
    assert client.post("/admin/audiences/", {"action": "save", "value": "women", "customer_tag": "hijacked"},
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


@pytest.mark.parametrize("check", sorted({fn.__name__ for fn in CHECKS.values()}))
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
