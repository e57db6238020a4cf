"""The public widget API as a storefront (or an attacker) calls it, over Django's test client and the real DB."""
from __future__ import annotations

import json
import time

import pytest
from shopify_app.verify.app_proxy import _generate_param_string

from backend.catalog.models import Product
from backend.storefront.access import customer_signature
from backend.storefront.models import AllowedOrigin, WidgetRule
from backend.storefront.rules import invalidate
from tests.storefront.factories import make_collection, make_customer, make_order, make_product

pytestmark = pytest.mark.django_db

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}


def get(client, widget, **params):
    return client.get(f"/api/storefront/widgets/{widget}", params, **UA)


def ids(response):
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def catalog(shop, monkeypatch):
    """Six products; the engines answer "P0..P5 in order" for any widget, so what the API adds is what's tested.

    The engines' own ranking is theirs to test; test_real_engines_* below runs them for real end to end.
    """
    shop.currency = "EUR"
    shop.save()
    products = [make_product(shop, title=f"P{i}", price=f"{10 + i}.50") for i in range(6)]
    picks = {shop.pk: [p.pk for p in products]}

    def recommend(s, widget, ctx):
        return [pk for pk in picks.get(s.pk, []) if pk != ctx.product_id][: ctx.limit]

    monkeypatch.setattr("backend.recommendations.registry.recommend", recommend)
    return products


def test_bestsellers_payload_has_prices_formatted_for_shop_currency_and_locale(client, shop, catalog):
    shop.save()
    catalog[0].variants.update(compare_at_price="15.00")
    es = get(client, "bestsellers", key=shop.public_key, locale="es")
    assert es.status_code == 200
    body = es.json()
    assert body["widget"] == "bestsellers" and body["locale"] == "es" and body["currency"] == "EUR"
    assert body["title"] == "Los más vendidos"
    first = body["items"][0]
    assert first["id"] == catalog[0].platform_id
    assert first["price"] == "10.50" and first["compare_at_price"] == "15.00"
    assert first["price_formatted"] == "10,50\xa0€"
    assert first["compare_at_price_formatted"] == "15,00\xa0€"
    assert first["url"] == f"/products/{catalog[0].handle}" and first["available"] is True
    en = get(client, "bestsellers", key=shop.public_key, locale="en").json()
    assert en["items"][0]["price_formatted"] == "€10.50"
    assert en["title"] == "Bestsellers"


def test_unknown_key_404_and_bad_params_400_never_500(client, shop, catalog):
    assert get(client, "bestsellers", key="pk_nope").status_code == 404
    assert get(client, "bestsellers").json() == {"error": "unknown key"}
    assert get(client, "nonsense", key=shop.public_key).status_code == 404
    for bad in ({"limit": "0"}, {"limit": "99"}, {"limit": "x"}, {"locale": "fr"}, {"product": "x" * 65},
                {"product": "<script>"}, {"visitor": "a b"}, {"segment": "s" * 65}):
        response = get(client, "also_bought", key=shop.public_key, **bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]


def test_shop_a_key_never_returns_shop_b_products(client, shop, other_shop):
    mine = [make_product(shop, title=f"A{i}") for i in range(3)]
    foreign = [make_product(other_shop, title=f"B{i}") for i in range(3)]
    for p in foreign:
        make_order(other_shop, [p, foreign[0]], quantity=50, record=True)
    for p in mine:
        make_order(shop, [p], record=True)
    # Asking shop A's widget about shop B's product id falls back to A's catalog, never B's.
    response = get(client, "also_bought", key=shop.public_key, product=foreign[0].platform_id)
    assert response.status_code == 200
    returned = set(ids(response))
    assert returned and returned <= {p.platform_id for p in mine}
    assert not returned & {p.platform_id for p in foreign}
    # Even when an engine misbehaves and hands back another shop's pks, the payload only holds this shop's rows.
    from backend.recommendations import registry

    real = registry.recommend
    try:
        registry.recommend = lambda s, w, ctx: [p.pk for p in foreign] + [p.pk for p in mine]
        invalidate(shop.pk)
        leaked = get(client, "bestsellers", key=shop.public_key)
    finally:
        registry.recommend = real
    assert set(ids(leaked)) == {p.platform_id for p in mine}


def test_real_engines_bestsellers_and_also_bought_end_to_end(client, shop):
    jacket, hat, gloves, socks = (make_product(shop, title=t) for t in ("Jacket", "Hat", "Gloves", "Socks"))
    for _ in range(4):
        make_order(shop, [jacket, hat], record=True)
    make_order(shop, [jacket, gloves], record=True)
    make_order(shop, [socks], quantity=1, record=True)
    best = ids(get(client, "bestsellers", key=shop.public_key))
    assert best[:2] == [jacket.platform_id, hat.platform_id]
    also = ids(get(client, "also_bought", key=shop.public_key, product=jacket.platform_id))
    assert also[0] == hat.platform_id and jacket.platform_id not in also


def test_rules_pinned_first_excluded_gone_out_of_stock_gone(client, shop, catalog):
    pinned = make_product(shop, title="Pinned", stock=3)
    empty = catalog[1]
    empty.variants.update(inventory_quantity=0)
    low = catalog[2]
    low.variants.update(inventory_quantity=1)
    excluded_by_collection = catalog[3]
    collection = make_collection(shop, [excluded_by_collection])
    WidgetRule.objects.create(
        shop=shop,
        widget="bestsellers",
        limit=4,
        pinned_product_ids=[pinned.pk],
        excluded_product_ids=[catalog[0].pk],
        excluded_collection_ids=[collection.pk],
        min_stock=2,
    )
    invalidate(shop.pk)
    got = ids(get(client, "bestsellers", key=shop.public_key))
    assert got[0] == pinned.platform_id
    for gone in (catalog[0], empty, low, excluded_by_collection):
        assert gone.platform_id not in got
    assert got == [pinned.platform_id, catalog[4].platform_id, catalog[5].platform_id]


def test_disabled_widget_is_200_with_no_items(client, shop, catalog):
    WidgetRule.objects.create(shop=shop, widget="bestsellers", enabled=False)
    body = get(client, "bestsellers", key=shop.public_key).json()
    assert body["enabled"] is False and body["items"] == []


def test_rule_change_shows_up_live(client, shop, catalog):
    assert len(ids(get(client, "bestsellers", key=shop.public_key))) == 6
    rule = WidgetRule.objects.create(shop=shop, widget="bestsellers", limit=2, title_en="Hot now")
    invalidate(shop.pk)
    body = get(client, "bestsellers", key=shop.public_key, locale="en").json()
    assert len(body["items"]) == 2 and body["title"] == "Hot now"
    rule.enabled = False
    rule.save()
    invalidate(shop.pk)
    assert get(client, "bestsellers", key=shop.public_key).json()["enabled"] is False


def test_titles_round_trip_exactly(client, shop):
    nasty = '<img src=x onerror=alert(1)> "Café" & ñ 🧥'
    product = make_product(shop, title=nasty)
    make_order(shop, [product], record=True)
    body = json.loads(get(client, "bestsellers", key=shop.public_key).content)
    assert body["items"][0]["title"] == nasty


def test_cache_headers_public_vs_personal(client, shop, catalog):
    public = get(client, "bestsellers", key=shop.public_key)
    assert public["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    assert "Origin" in public["Vary"]
    personal = get(client, "recently_viewed", key=shop.public_key, visitor="v-123")
    assert personal.status_code == 200
    assert personal["Cache-Control"] == "private, no-store"
    customer = make_customer(shop, platform_id="777")
    signed = get(client, "also_bought", key=shop.public_key, product=catalog[0].platform_id,
                 customer=customer.platform_id, customer_sig=customer_signature(shop, customer.platform_id))
    assert signed["Cache-Control"] == "private, no-store"
    # An unsigned customer claim is ignored: the answer stays the shared, cacheable one.
    unsigned = get(client, "also_bought", key=shop.public_key, product=catalog[0].platform_id, customer="777")
    assert unsigned["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    # "Recommended for you" is built from the visitor's own history: never a shared, cacheable answer for them;
    # without a visitor id (no analytics consent) it is the segment's bestsellers, which anyone may cache.
    for_you = get(client, "for_you", key=shop.public_key, visitor="v-123")
    assert for_you.status_code == 200 and for_you["Cache-Control"] == "private, no-store"
    anonymous = get(client, "for_you", key=shop.public_key)
    assert anonymous["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"


def test_origin_check_and_cors(client, shop, catalog):
    AllowedOrigin.objects.create(shop=shop, origin="https://www.alpha-store.com")
    ok = client.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key},
                    HTTP_ORIGIN="https://www.alpha-store.com", **UA)
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == "https://www.alpha-store.com"
    home = client.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key},
                      HTTP_ORIGIN="https://alpha.myshopify.com", **UA)
    assert home.status_code == 200
    evil = client.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key},
                      HTTP_ORIGIN="https://evil.example", **UA)
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil


def _proxy_query(shop_domain: str, secret: str, **extra) -> dict:
    params = {"shop": shop_domain, "path_prefix": "/apps/personalize", "timestamp": str(int(time.time())), **extra}
    import hashlib
    import hmac

    params["signature"] = hmac.new(secret.encode(), _generate_param_string(params).encode(), hashlib.sha256).hexdigest()
    return params


def test_app_proxy_signature_verified(client, shop, catalog, settings):
    good = client.get("/api/storefront/proxy/widgets/bestsellers",
                      _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, locale="en"), **UA)
    assert good.status_code == 200
    assert ids(good)[0] == catalog[0].platform_id
    forged = client.get("/api/storefront/proxy/widgets/bestsellers",
                        _proxy_query(shop.domain, "not-the-secret"), **UA)
    assert forged.status_code == 401
    tampered = _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET)
    tampered["shop"] = "beta.myshopify.com"
    assert client.get("/api/storefront/proxy/widgets/bestsellers", tampered, **UA).status_code == 401
    stale = _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, timestamp=str(int(time.time()) - 3600))
    assert client.get("/api/storefront/proxy/widgets/bestsellers", stale, **UA).status_code == 401
    for odd in ("é" * 64, "", "00"):
        weird = {**_proxy_query(shop.domain, settings.SHOPIFY_API_SECRET), "signature": odd}
        assert client.get("/api/storefront/proxy/widgets/bestsellers", weird, **UA).status_code == 401
    unknown = _proxy_query("gamma.myshopify.com", settings.SHOPIFY_API_SECRET)
    assert client.get("/api/storefront/proxy/widgets/bestsellers", unknown, **UA).status_code == 404


def test_app_proxy_logged_in_customer_makes_payload_personal(client, shop, catalog, settings):
    make_customer(shop, platform_id="555")
    response = client.get(
        "/api/storefront/proxy/widgets/also_bought",
        _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, logged_in_customer_id="555",
                     product=catalog[0].platform_id),
        **UA,
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_public_payload_is_served_from_cache_without_queries(client, shop, catalog, django_assert_max_num_queries):
    first = get(client, "bestsellers", key=shop.public_key)
    with django_assert_max_num_queries(0):
        again = get(client, "bestsellers", key=shop.public_key)
    assert again.content == first.content


def test_payload_build_has_no_n_plus_one(client, shop, catalog, django_assert_max_num_queries, monkeypatch):
    for i in range(20):
        make_product(shop, title=f"extra{i}")
    WidgetRule.objects.create(shop=shop, widget="bestsellers", limit=24)
    extra = list(Product.objects.for_shop(shop).exclude(pk__in=[p.pk for p in catalog]).order_by("pk"))
    monkeypatch.setattr(
        "backend.recommendations.registry.recommend",
        lambda s, w, ctx: ([p.pk for p in catalog] + [p.pk for p in extra])[: ctx.limit],
    )
    # shop + origins, rule, products + variants prefetch: independent of the item count
    with django_assert_max_num_queries(5):
        response = get(client, "bestsellers", key=shop.public_key, limit="24")
    got = ids(response)
    assert len(got) == 24
    assert got[:6] == [p.platform_id for p in catalog]


def test_odd_query_strings_are_4xx_not_500(client, shop, catalog):
    for query in ("product=%00", "product=%C3%28", "limit=-1", "limit=1e3", "limit=%C2%B2", "locale=",
                  "segment=%F0%9F%98%80",
                  "collection=" + "9" * 200, "visitor=" + "v" * 65, "key=" + "k" * 5000,
                  "customer=1&customer_sig=%C3%A9%C3%A9", "customer=%00&customer_sig=00"):
        response = client.get(f"/api/storefront/widgets/also_bought?key={shop.public_key}&{query}", **UA)
        assert response.status_code < 500, query
        assert response.json()


def test_stale_payload_served_at_once_then_rebuilt(client, shop, catalog, monkeypatch):
    from backend.storefront import hotcache, views

    rebuilds = []
    monkeypatch.setattr(hotcache, "refresh", lambda job: rebuilds.append(job))
    first = get(client, "bestsellers", key=shop.public_key)
    catalog[0].title = "Renamed"
    catalog[0].save()
    assert get(client, "bestsellers", key=shop.public_key).content == first.content and rebuilds == []
    later = time.time() + views.PUBLIC_TTL + 1
    monkeypatch.setattr(views.time, "time", lambda: later)
    hotcache.payloads.clear()  # another worker, same shared cache
    stale = get(client, "bestsellers", key=shop.public_key)
    assert stale.content == first.content  # nobody waits for the rebuild
    assert len(rebuilds) == 1
    get(client, "bestsellers", key=shop.public_key)
    assert len(rebuilds) == 1  # one rebuild per stale payload, not one per request
    rebuilds[0]()
    fresh = get(client, "bestsellers", key=shop.public_key)
    assert fresh.json()["items"][0]["title"] == "Renamed"


@pytest.mark.django_db
def test_a_lost_cache_counter_never_brings_back_an_old_generation(shop):
    """Redis keeps nothing on disk: after a restart or a flush the shop's counter is gone. The next save must not
    land on a generation a worker still holds rules and payloads for (a restart from 2 served the old layout)."""
    from django.core.cache import cache

    from backend.storefront.rules import cache_version

    seen = {cache_version(shop.pk)}
    invalidate(shop.pk)
    seen.add(cache_version(shop.pk))
    cache.delete(f"storefront:ver:{shop.pk}")  # the flush
    invalidate(shop.pk)
    assert cache_version(shop.pk) not in seen
