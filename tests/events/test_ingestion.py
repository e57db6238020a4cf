"""Event ingestion as the storefront script (and hostile callers) use it: real DB, real cache, test client."""
from __future__ import annotations

import json
import time

import pytest

from backend.core.rejections import rejection_count
from backend.events import hooks
from backend.events.identity import customer_for_visitor, visitor_ids_for_customer
from backend.events.models import Event
from backend.storefront.access import customer_signature
from tests.storefront.factories import make_collection, make_customer, make_product

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
URL = "/api/storefront/events"


def post(client, body, content_type="text/plain", ua=UA, **headers):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, raw, content_type=content_type, HTTP_USER_AGENT=ua, **headers)


def batch(shop, events, visitor="v-1", analytics=True, **extra):
    return {"key": shop.public_key, "visitor": visitor, "session": "s-1", "consent": {"analytics": analytics},
            "events": events, **extra}


def now_ms():
    return int(time.time() * 1000)


def test_valid_batch_is_stored(client, shop):
    product = make_product(shop)
    collection = make_collection(shop, [product])
    response = post(client, batch(shop, [
        {"type": "product_viewed", "product": product.platform_id, "ts": now_ms()},
        {"type": "collection_viewed", "collection": collection.platform_id},
        {"type": "added_to_cart", "product": f"gid://shopify/Product/{product.platform_id}"},
        {"type": "widget_click", "widget": "also_bought", "product": product.platform_id},
    ]))
    assert response.status_code == 202
    assert response.json() == {"accepted": 4, "rejected": []}
    rows = list(Event.objects.for_shop(shop).order_by("pk"))
    assert [e.type for e in rows] == ["product_viewed", "collection_viewed", "added_to_cart", "widget_click"]
    assert {e.visitor_id for e in rows} == {"v-1"}
    assert rows[0].product_id == product.pk and rows[1].collection_id == collection.pk
    assert rows[3].widget == "also_bought"


def test_application_json_accepted_too(client, shop):
    product = make_product(shop)
    response = post(client, batch(shop, [{"type": "product_viewed", "product": product.platform_id}]),
                    content_type="application/json")
    assert response.status_code == 202 and response.json()["accepted"] == 1


def test_bad_events_rejected_with_reasons_good_ones_kept(client, shop, other_shop):
    mine = make_product(shop)
    theirs = make_product(other_shop)
    response = post(client, batch(shop, [
        {"type": "product_viewed", "product": mine.platform_id},
        {"type": "hacked", "product": mine.platform_id},
        {"type": "product_viewed", "product": theirs.platform_id},
        {"type": "product_viewed", "product": "9" * 65},
        {"type": "product_viewed"},
        {"type": "widget_click", "widget": "w" * 40},
        {"type": "product_viewed", "product": mine.platform_id, "ts": now_ms() - 3 * 86400 * 1000},
        {"type": "product_viewed", "product": mine.platform_id, "ts": "yesterday"},
        "not an object",
    ]))
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert reasons == {
        1: "unknown event type",
        2: "unknown product",
        3: "product id malformed or longer than 64",
        4: "product_viewed needs a product",
        5: "widget malformed or too long",
        6: "ts must be epoch milliseconds within the last day",
        7: "ts must be epoch milliseconds within the last day",
        8: "event must be an object",
    }
    assert Event.objects.for_shop(shop).count() == 1
    assert Event.objects.for_shop(other_shop).count() == 0
    assert rejection_count("storefront_event") >= 7  # counted once per distinct reason in the batch


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ("[]", 404),  # no key to find the shop by
        ("x" * 40_000, 413),
    ],
)
def test_unusable_bodies_are_4xx(client, shop, body, status):
    assert post(client, body).status_code == status


def test_envelope_checks(client, shop):
    product = make_product(shop)
    ev = {"type": "product_viewed", "product": product.platform_id}
    oversized = post(client, batch(shop, [ev] * 51))
    assert oversized.status_code == 400 and "too many events" in oversized.json()["error"]
    assert post(client, batch(shop, [ev], visitor="v" * 65)).status_code == 400
    assert post(client, batch(shop, [ev], visitor="<script>")).status_code == 400
    assert post(client, {**batch(shop, [ev]), "events": "nope"}).status_code == 400
    assert post(client, {**batch(shop, [ev]), "key": "pk_unknown"}).status_code == 404
    assert Event.objects.for_shop(shop).count() == 0


def test_bots_dropped(client, shop):
    product = make_product(shop)
    body = batch(shop, [{"type": "product_viewed", "product": product.platform_id}])
    for ua in ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
               "Mozilla/5.0 (compatible; bingbot/2.0)", "curl/8.5.0", "python-requests/2.32", ""):
        response = post(client, body, ua=ua)
        assert response.status_code == 202 and response.json()["accepted"] == 0, ua
    assert Event.objects.for_shop(shop).count() == 0


def test_rate_limit_per_visitor_and_ip(client, shop, settings):
    settings.STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE = 3
    settings.STOREFRONT_EVENTS_PER_IP_PER_MINUTE = 5
    product = make_product(shop)
    ev = [{"type": "product_viewed", "product": product.platform_id}]
    codes = [post(client, batch(shop, ev, visitor="same")).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    limited = post(client, batch(shop, ev, visitor="same"))
    assert int(limited["Retry-After"]) in range(1, 61)
    # Other visitors from the same address still get through until the address's own budget runs out.
    assert post(client, batch(shop, ev, visitor="other")).status_code == 429  # 6th request from this IP
    assert post(client, batch(shop, ev, visitor="third"), REMOTE_ADDR="10.0.0.9").status_code == 202
    assert Event.objects.for_shop(shop).count() == 4


def test_consent_off_stores_nothing_personal(client, shop):
    product = make_product(shop)
    customer = make_customer(shop, platform_id="42")
    response = post(client, batch(shop, [{"type": "product_viewed", "product": product.platform_id}],
                                  visitor="v-secret", analytics=False, customer="42",
                                  customer_sig=customer_signature(shop, "42")))
    assert response.status_code == 202 and response.json()["accepted"] == 1
    event = Event.objects.for_shop(shop).get()
    assert (event.visitor_id, event.session_id, event.customer_id) == ("", "", None)
    assert customer_for_visitor(shop, "v-secret") is None
    assert visitor_ids_for_customer(shop, customer) == []
    # No consent signal at all counts as no consent.
    body = batch(shop, [{"type": "product_viewed", "product": product.platform_id}], visitor="v-2")
    del body["consent"]
    post(client, body)
    assert set(Event.objects.for_shop(shop).values_list("visitor_id", flat=True)) == {""}


def test_signed_customer_stitches_visitor_and_backfills(client, shop):
    product = make_product(shop)
    customer = make_customer(shop, platform_id="42")
    ev = [{"type": "product_viewed", "product": product.platform_id}]
    post(client, batch(shop, ev, visitor="phone"))  # anonymous first
    post(client, batch(shop, ev, visitor="phone", customer="42", customer_sig=customer_signature(shop, "42")))
    post(client, batch(shop, ev, visitor="laptop", customer="42", customer_sig=customer_signature(shop, "42")))
    assert customer_for_visitor(shop, "phone") == customer.pk
    assert set(visitor_ids_for_customer(shop, customer)) == {"phone", "laptop"}
    assert Event.objects.for_shop(shop).filter(customer=customer).count() == 3


def test_unsigned_customer_claim_is_ignored(client, shop):
    product = make_product(shop)
    make_customer(shop, platform_id="42")
    ev = [{"type": "product_viewed", "product": product.platform_id}]
    post(client, batch(shop, ev, visitor="attacker", customer="42", customer_sig="0" * 64))
    post(client, batch(shop, ev, visitor="attacker2", customer="42"))
    assert customer_for_visitor(shop, "attacker") is None
    assert Event.objects.for_shop(shop).filter(customer__isnull=False).count() == 0


def test_foreign_origin_refused_allowed_origin_gets_cors(client, shop):
    product = make_product(shop)
    body = batch(shop, [{"type": "product_viewed", "product": product.platform_id}])
    evil = post(client, body, HTTP_ORIGIN="https://evil.example")
    assert evil.status_code == 403
    ok = post(client, body, HTTP_ORIGIN="https://alpha.myshopify.com")
    assert ok.status_code == 202 and ok["Access-Control-Allow-Origin"] == "https://alpha.myshopify.com"


def test_hooks_receive_stored_events(client, shop):
    product = make_product(shop)
    seen = []

    def on_view(shop_id, events):
        seen.append((shop_id, [(e.type, e.product_id, e.visitor_id) for e in events]))

    def broken(shop_id, events):
        raise RuntimeError("engine down")

    hooks.register(on_view, types=["product_viewed"])
    hooks.register(broken)
    try:
        response = post(client, batch(shop, [
            {"type": "product_viewed", "product": product.platform_id},
            {"type": "widget_impression", "widget": "bestsellers"},
        ]))
    finally:
        hooks.unregister(on_view)
        hooks.unregister(broken)
    assert response.status_code == 202 and response.json()["accepted"] == 2
    assert seen == [(shop.pk, [("product_viewed", product.pk, "v-1")])]
    assert Event.objects.for_shop(shop).count() == 2


def test_app_proxy_events_use_signed_customer(client, shop, settings):
    from tests.storefront.test_widget_api import _proxy_query

    product = make_product(shop)
    customer = make_customer(shop, platform_id="99")
    params = _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, logged_in_customer_id="99")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    body = json.dumps(batch(shop, [{"type": "product_viewed", "product": product.platform_id}], visitor="pv"))
    response = client.post(f"/api/storefront/proxy/events?{query}", body, content_type="text/plain",
                           HTTP_USER_AGENT=UA, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 202, response.content
    assert Event.objects.for_shop(shop).get().customer_id == customer.pk
    forged = _proxy_query(shop.domain, "wrong", logged_in_customer_id="99")
    query = "&".join(f"{k}={v}" for k, v in forged.items())
    assert client.post(f"/api/storefront/proxy/events?{query}", body, content_type="text/plain",
                       HTTP_USER_AGENT=UA).status_code == 401
    assert Event.objects.for_shop(shop).count() == 1


def test_hostile_shapes_never_500(client, shop):
    product = make_product(shop)
    shapes = [
        {"key": 123, "events": []},
        {"key": shop.public_key, "visitor": 5, "consent": {"analytics": True}, "events": []},
        {"key": shop.public_key, "visitor": ["a"], "consent": {"analytics": True}, "events": []},
        {"key": shop.public_key, "consent": "yes", "events": [{"type": "product_viewed", "product": 7}]},
        {"key": shop.public_key, "consent": {"analytics": True}, "visitor": "v", "customer": {"id": 1},
         "customer_sig": ["x"], "events": [{"type": ["product_viewed"]}, {"type": "product_viewed", "product": None},
                                           {"type": "widget_click", "widget": {"x": 1}}, {"type": "added_to_cart",
                                           "product": product.platform_id, "ts": True}, None, [], 3.5]},
        {"key": shop.public_key, "events": [{"type": "product_viewed", "product": "\x00"}]},
        "null", "\"just a string\"", "1e999", "{\"key\": \"\\ud800\"}",
    ]
    for shape in shapes:
        response = post(client, shape)
        assert 200 <= response.status_code < 500, (shape, response.content)
        assert response.json()


def test_preflight_for_json_posts(client, shop):
    response = client.options(f"{URL}?key={shop.public_key}", HTTP_ORIGIN="https://alpha.myshopify.com",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", HTTP_USER_AGENT=UA)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://alpha.myshopify.com"
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_customer_redaction_anonymises_events_and_unlinks_visitors(client, shop):
    from backend.shops.redaction import CustomerRef, export_customer, redact_customer

    product = make_product(shop)
    customer = make_customer(shop, platform_id="42")
    ev = [{"type": "product_viewed", "product": product.platform_id}]
    post(client, batch(shop, ev, visitor="phone", customer="42", customer_sig=customer_signature(shop, "42")))
    post(client, batch(shop, ev, visitor="someone-else"))
    export = export_customer(shop, CustomerRef(platform_id="42"))
    assert export.data["storefront_events"]["visitor_ids"] == ["phone"]
    assert len(export.data["storefront_events"]["events"]) == 1
    redact_customer(shop, CustomerRef(platform_id="42"))
    assert customer_for_visitor(shop, "phone") is None
    assert Event.objects.for_shop(shop).count() == 2  # still counted, no longer anyone's
    assert set(Event.objects.for_shop(shop).values_list("visitor_id", flat=True)) == {"", "someone-else"}
    assert not Event.objects.for_shop(shop).filter(customer=customer).exists()


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at commit: the batch must really commit
def test_a_product_deleted_while_its_view_arrives_keeps_the_batch(client, shop, monkeypatch):
    """A delete webhook lands between the lookup and the insert: the batch is stored as the delete would have left
    it a moment later (the view without its product), never a 500 that loses the other events."""
    from backend.events import ingest

    gone, kept = make_product(shop), make_product(shop)
    resolve = ingest._ids

    def resolve_then_delete(model, shop_id, platform_ids):
        found = resolve(model, shop_id, platform_ids)
        if model is ingest.Product:
            type(gone).objects.for_shop(shop).filter(pk=gone.pk).delete()
        return found

    monkeypatch.setattr(ingest, "_ids", resolve_then_delete)
    response = post(client, batch(shop, [
        {"type": "product_viewed", "product": gone.platform_id},
        {"type": "product_viewed", "product": kept.platform_id},
    ]))
    assert response.status_code == 202 and response.json()["accepted"] == 2
    stored = list(Event.objects.for_shop(shop).order_by("pk").values_list("product_id", flat=True))
    assert stored == [None, kept.pk]
