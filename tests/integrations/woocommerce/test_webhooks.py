"""Webhooks: real deliveries from the stand-in to a live server, and forged ones posted straight at the endpoint."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from backend.catalog.models import Product, Variant
from backend.customers.models import Customer
from backend.orders.models import Order
from backend.shops.models import WebhookDelivery
from integrations.woocommerce.auth import finish_connect
from integrations.woocommerce.models import WooStore
from integrations.woocommerce.sync import run_sync, start_sync
from integrations.woocommerce.webhooks import signature_for


def rows(shop) -> tuple:
    return (Product.objects.for_shop(shop).count(), Order.objects.for_shop(shop).count(),
            Customer.objects.for_shop(shop).count(), WebhookDelivery.objects.for_shop(shop).count())


def post(client, shop, payload, topic="product.updated", secret=None, delivery_id="d-1", signature=None):
    body = json.dumps(payload).encode()
    secret = secret if secret is not None else WooStore.objects.for_shop(shop).get().webhook_secret
    headers = {"HTTP_X_WC_WEBHOOK_TOPIC": topic, "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id,
               "HTTP_X_WC_WEBHOOK_ID": "7",
               "HTTP_X_WC_WEBHOOK_SIGNATURE": signature if signature is not None else signature_for(secret, body)}
    return client.post(reverse("woocommerce-webhooks", args=[shop.pk]), body, content_type="application/json",
                       **headers)


@pytest.fixture
def live_woo(transactional_db, live_server, standin, woo_settings, eager_celery):
    """A shop synced from the stand-in, with the stand-in's webhooks pointing at a live server."""
    from tests.integrations.woocommerce.factories import connect_shop

    woo_settings.APP_URL = live_server.url
    shop = connect_shop(standin)
    run_sync(start_sync(shop))
    finish_connect(shop)
    return shop


def test_subscribes_and_applies_signed_deliveries(live_woo, standin):
    shop = live_woo
    assert sorted(h["topic"] for h in standin.webhooks.values()) == sorted(
        f"{r}.{e}" for r in ("product", "order", "customer") for e in ("created", "updated", "deleted"))
    # Each creation pinged the delivery URL, and we answered it.
    assert [code for _, code in standin.pings] == [200] * 9

    simple = next(p for p in standin.store.records("products") if not p["variations"])
    standin.store.update_product(simple["id"], name="Storm Beanie", stock_quantity=0, stock_status="outofstock")
    variable = next(p for p in standin.store.records("products") if p["variations"])
    vid = variable["variations"][0]
    standin.store.update_variation(variable["id"], vid, stock_quantity=77, stock_status="instock")
    order = standin.store.create_order([simple["id"], variable["id"]], customer_id=3, coupon="WINTER15")
    standin.store.update_customer(3, first_name="Renata")
    standin.store.delete_product(next(p["id"] for p in standin.store.records("products")
                                      if p["id"] not in (simple["id"], variable["id"])))
    standin.wait_deliveries()

    assert all(d.delivered for d in standin.deliveries)
    product = Product.objects.for_shop(shop).get(platform_id=str(simple["id"]))
    assert (product.title, product.available_for_sale, product.total_inventory) == ("Storm Beanie", False, 0)
    assert Variant.objects.for_shop(shop).get(platform_id=str(vid)).inventory_quantity == 77
    stored_order = Order.objects.for_shop(shop).get(platform_id=str(order["id"]))
    assert stored_order.discount_codes == ["winter15"] and stored_order.line_items.count() == 2
    assert Customer.objects.for_shop(shop).get(platform_id="3").first_name == "Renata"
    assert Product.objects.for_shop(shop).filter(deleted_at__isnull=False).count() == 1
    assert WebhookDelivery.objects.for_shop(shop).filter(processed_at__isnull=True).count() == 0


def _start_of_a_second() -> None:
    import time

    if time.time() % 1 > 0.6:  # leave the changes below room to share one wall-clock second
        time.sleep(1 - time.time() % 1 + 0.01)


def test_two_changes_in_one_second_are_both_applied(live_woo, standin):
    """WooCommerce's delivery id is wp_hash(webhook id + current second): two different changes of one resource
    in the same second arrive under one id. Both must apply (the store ends at stock 3 and refunded)."""
    shop = live_woo
    simple = next(p for p in standin.store.records("products") if not p["variations"])
    oid = standin.store.order_ids()[0]
    _start_of_a_second()
    standin.store.update_product(simple["id"], stock_quantity=7, stock_status="instock", manage_stock=True)
    standin.store.update_product(simple["id"], stock_quantity=3)
    standin.store.update_order(oid, status="completed")
    standin.store.update_order(oid, status="refunded")
    standin.wait_deliveries()
    products = [d for d in standin.deliveries if d.topic == "product.updated"][-2:]
    orders = [d for d in standin.deliveries if d.topic == "order.updated"][-2:]
    assert products[0].delivery_id == products[1].delivery_id and products[0].body != products[1].body
    assert orders[0].delivery_id == orders[1].delivery_id
    assert Product.objects.for_shop(shop).get(platform_id=str(simple["id"])).total_inventory == 3
    assert Order.objects.for_shop(shop).get(platform_id=str(oid)).financial_status == "refunded"


def test_replayed_delivery_is_applied_once(live_woo, standin):
    shop = live_woo
    product = next(p for p in standin.store.records("products") if not p["variations"])
    standin.store.update_product(product["id"], name="First name")
    standin.wait_deliveries()
    delivery = standin.deliveries[-1]
    # The merchant renames it again in our database's view of the world... then the old delivery is replayed.
    Product.objects.for_shop(shop).filter(platform_id=str(product["id"])).update(title="Changed since")
    assert standin.redeliver(delivery) == 200
    assert standin.redeliver(delivery) == 200
    assert WebhookDelivery.objects.for_shop(shop).filter(topic="product.updated").count() == 1
    assert Product.objects.for_shop(shop).get(platform_id=str(product["id"])).title == "Changed since"


def test_receiver_failure_is_retried_with_the_same_delivery_id(live_woo, standin, monkeypatch):
    shop = live_woo
    from integrations.woocommerce import webhooks

    real = webhooks._record
    calls = {"n": 0}

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kw)

    monkeypatch.setattr(webhooks, "_record", flaky)
    customer = standin.store.update_customer(5, last_name="Retried")
    standin.wait_deliveries()
    delivery = standin.deliveries[-1]
    assert delivery.attempts[0] == 500 and delivery.attempts[-1] == 200
    assert Customer.objects.for_shop(shop).get(platform_id="5").last_name == customer["last_name"]
    assert WebhookDelivery.objects.for_shop(shop).filter(topic="customer.updated").count() == 1


@pytest.mark.django_db
def test_forged_signatures_are_refused_and_write_nothing(client, woo_shop, standin):
    payload = standin.store.get_product(standin.store.product_ids()[0])
    before = rows(woo_shop)
    assert post(client, woo_shop, payload, secret="not-the-secret").status_code == 401
    assert post(client, woo_shop, payload, signature="").status_code == 401
    assert post(client, woo_shop, payload, signature="garbage==").status_code == 401
    # Signed for another shop's secret: still refused for this one.
    assert post(client, woo_shop, {**payload, "name": "x"}, secret="another shops secret").status_code == 401
    assert rows(woo_shop) == before
    # Unknown shop id.
    assert client.post(reverse("woocommerce-webhooks", args=[999999]), b"{}",
                       content_type="application/json").status_code == 404
    # The creation ping is answered without writing anything.
    response = client.post(reverse("woocommerce-webhooks", args=[woo_shop.pk]), b"webhook_id=12",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json()["status"] == "pong"
    assert rows(woo_shop) == before


@pytest.mark.django_db
def test_older_date_modified_never_overwrites_newer(client, woo_shop, standin, eager_celery):
    p = standin.store.get_product(standin.store.product_ids()[1])
    p = {**p, "type": "simple", "variations": []}
    newer = {**p, "name": "Newer", "date_modified_gmt": "2026-05-02T10:00:00"}
    older = {**p, "name": "Older", "date_modified_gmt": "2026-05-01T10:00:00"}
    assert post(client, woo_shop, newer, delivery_id="n").status_code == 200
    assert post(client, woo_shop, older, delivery_id="o").status_code == 200
    assert Product.objects.for_shop(woo_shop).get(platform_id=str(p["id"])).title == "Newer"

    o = standin.store.get_order(standin.store.order_ids()[0])
    assert post(client, woo_shop, {**o, "status": "completed", "date_modified_gmt": "2026-06-02T00:00:00"},
                topic="order.updated", delivery_id="o2").status_code == 200
    assert post(client, woo_shop, {**o, "status": "processing", "date_modified_gmt": "2026-06-01T00:00:00"},
                topic="order.updated", delivery_id="o1").status_code == 200
    assert Order.objects.for_shop(woo_shop).get(platform_id=str(o["id"])).financial_status == "completed"


@pytest.mark.django_db
def test_disconnected_shop_ignores_deliveries(client, woo_shop, standin, eager_celery):
    woo_shop.revoke()
    woo_shop.save()
    p = standin.store.get_product(standin.store.product_ids()[0])
    assert post(client, woo_shop, p).status_code == 200
    assert rows(woo_shop) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_replay_is_recognised_by_its_body_not_its_delivery_id(client, woo_shop, standin, eager_celery):
    """Same body under another delivery id (WooCommerce's resend, a later second): applied once. Another body under
    the same delivery id (two changes in one second): applied too. A long hostile webhook id still fits."""
    p = {**standin.store.get_product(standin.store.product_ids()[2]), "type": "simple", "variations": []}
    first = post(client, woo_shop, {**p, "name": "One", "date_modified_gmt": "2026-07-01T00:00:00"}, delivery_id="x")
    again = post(client, woo_shop, {**p, "name": "One", "date_modified_gmt": "2026-07-01T00:00:00"}, delivery_id="y")
    assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
    other = post(client, woo_shop, {**p, "name": "Two", "date_modified_gmt": "2026-07-01T00:00:01"}, delivery_id="x")
    assert other.json()["status"] == "queued"
    assert Product.objects.for_shop(woo_shop).get(platform_id=str(p["id"])).title == "Two"
    body = json.dumps({**p, "name": "Three"}).encode()
    secret = WooStore.objects.for_shop(woo_shop).get().webhook_secret
    long_id = client.post(reverse("woocommerce-webhooks", args=[woo_shop.pk]), body, content_type="application/json",
                          HTTP_X_WC_WEBHOOK_TOPIC="product.updated", HTTP_X_WC_WEBHOOK_ID="9" * 255,
                          HTTP_X_WC_WEBHOOK_SIGNATURE=signature_for(secret, body))
    assert long_id.status_code == 200
    assert all(len(e) <= 255 for e in WebhookDelivery.objects.for_shop(woo_shop).values_list("event_id", flat=True))


@pytest.mark.django_db
def test_a_second_delete_after_a_restore_is_applied(client, woo_shop, standin, eager_celery):
    """A delete's body is only {"id": N}: delete -> restore -> delete repeats it byte for byte, and the second delete
    must still win (it was answered "duplicate" and the product stayed live and recommended)."""
    p = standin.store.get_product(standin.store.product_ids()[1])
    p = {**p, "type": "simple", "variations": []}
    product = Product.objects.for_shop(woo_shop)
    assert post(client, woo_shop, p, delivery_id="upd-1").status_code == 200
    assert post(client, woo_shop, {"id": p["id"]}, topic="product.deleted", delivery_id="del-1").status_code == 200
    assert product.get(platform_id=str(p["id"])).deleted_at is not None
    restored = {**p, "date_modified_gmt": "2030-01-01T00:00:00"}
    assert post(client, woo_shop, restored, topic="product.restored", delivery_id="res-1").status_code == 200
    again = post(client, woo_shop, {"id": p["id"]}, topic="product.deleted", delivery_id="del-2")
    assert again.status_code == 200 and again.json()["status"] != "duplicate"
    assert product.get(platform_id=str(p["id"])).deleted_at is not None
    # A retry of that same delivery (same id, same body) is still recognised.
    retry = post(client, woo_shop, {"id": p["id"]}, topic="product.deleted", delivery_id="del-2")
    assert retry.json()["status"] == "duplicate"
