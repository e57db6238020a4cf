"""Uninstall and the three GDPR topics, end to end through POST /shopify/webhooks."""
from __future__ import annotations

import logging

import pytest
from django.db import connection

from backend.catalog.models import Product
from backend.customers.models import Customer
from backend.orders.models import LineItem, Order
from backend.shops import redaction
from backend.shops.models import CustomerDataExport, Shop, SyncRun, WebhookDelivery
from integrations.shopify import webhooks
from integrations.shopify.tasks.webhooks import process_webhook
from tests.factories import make_shop

from .webhook_support import (
    T1,
    T2,
    customer_body,
    deliver,
    order_body,
    post_webhook,
    product_body,
    rows_of,
    text_columns_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

ZELDA = customer_body()  # the customer who asks to be forgotten
OTTO = customer_body(cid=502, email="otto.brennan@example.net", phone="+4930555777", first="Otto", last="Brennan")
ZELDA_PII = [ZELDA["email"], ZELDA["phone"], ZELDA["first_name"], ZELDA["last_name"], "Calle Quimbyworth 123"]


def populate(client, shop: Shop) -> None:
    """A little of everything a shop accumulates, written the way production writes it."""
    d = shop.domain
    post_webhook(client, "collections/create", {"id": 3001, "title": "Jackets", "handle": "jackets",
                                                "updated_at": T1}, d)
    post_webhook(client, "products/create", product_body(), d)
    post_webhook(client, "products/create", product_body(pid=1002, title="Wool Hat"), d)
    post_webhook(client, "inventory_levels/update", {"inventory_item_id": 100100, "location_id": 77, "available": 4,
                                                     "updated_at": T1}, d)
    for person in (ZELDA, OTTO):
        post_webhook(client, "customers/create", person, d)
    post_webhook(client, "orders/create", order_body(oid=9001, customer=ZELDA), d)
    post_webhook(client, "orders/create", order_body(oid=9002, customer=ZELDA, product_id=1002), d)
    post_webhook(client, "orders/create", order_body(oid=9003, customer=OTTO), d)
    post_webhook(client, "refunds/create", {"id": 7001, "order_id": 9001, "created_at": T2, "note": "too big",
                                            "transactions": [{"kind": "refund", "status": "success",
                                                              "amount": "20.00"}]}, d)
    SyncRun.objects.create(shop=shop, kind="full", status=SyncRun.Status.RUNNING)
    try:
        from backend.events.models import Event, VisitorIdentity
    except ImportError:
        return
    zelda = Customer.objects.for_shop(shop).get(platform_id="501")
    Event.objects.create(shop=shop, type="product_viewed", visitor_id="v-zelda", customer=zelda,
                         product=Product.objects.for_shop(shop).first())
    VisitorIdentity.objects.create(shop=shop, visitor_id="v-zelda", customer=zelda)


def compliance_body(shop: Shop, **extra) -> dict:
    return {"shop_id": shop.pk, "shop_domain": shop.domain, **extra}


def who(person: dict) -> dict:
    return {"id": person["id"], "email": person["email"], "phone": person["phone"]}


# --- app/uninstalled -----------------------------------------------------------------------------------------------


def test_uninstall_revokes_tokens_stops_jobs_and_keeps_data(client, shop):
    shop.refresh_token = "shprt_refresh"
    shop.save()
    populate(client, shop)
    before = rows_of(shop.pk)
    resp = post_webhook(client, "app/uninstalled", {"id": shop.pk, "myshopify_domain": shop.domain}, shop.domain)
    assert resp.status_code == 200
    shop.refresh_from_db()
    assert shop.state == Shop.State.UNINSTALLED and shop.uninstalled_at is not None
    with connection.cursor() as cur:
        cur.execute("SELECT access_token, refresh_token FROM shops_shop WHERE id = %s", [shop.pk])
        assert cur.fetchone() == ("", "")
    assert SyncRun.objects.for_shop(shop).get().status == SyncRun.Status.CANCELLED
    after = rows_of(shop.pk)
    after.pop("shops.WebhookDelivery"), before.pop("shops.WebhookDelivery")
    assert after == before  # every row kept until shop/redact
    assert Order.objects.for_shop(shop).count() == 3


def test_uninstall_body_naming_another_shop_is_refused(client, shop, other_shop):
    resp = post_webhook(client, "app/uninstalled", {"myshopify_domain": other_shop.domain}, shop.domain)
    assert resp.status_code == 400
    shop.refresh_from_db()
    other_shop.refresh_from_db()
    assert shop.is_active and other_shop.is_active


# --- shop/redact ---------------------------------------------------------------------------------------------------


def test_shop_redact_removes_every_row_of_that_shop_and_only_that_shop(client, shop, other_shop):
    populate(client, shop)
    populate(client, other_shop)
    post_webhook(client, "customers/data_request", compliance_body(
        shop, customer=who(ZELDA), orders_requested=[9001], data_request={"id": 1}), shop.domain)
    held = {label: n for label, n in rows_of(shop.pk).items() if n}
    assert len(held) >= 12, held  # the census must see a real shop before it can prove one is gone
    other_before = rows_of(other_shop.pk)

    post_webhook(client, "app/uninstalled", {"myshopify_domain": shop.domain}, shop.domain)
    # Shopify sends shop/redact 48 hours after uninstall: the shop is uninstalled but it must still be honoured.
    resp = post_webhook(client, "shop/redact", compliance_body(shop), shop.domain)
    assert resp.status_code == 200

    assert {label: n for label, n in rows_of(shop.pk).items() if n} == {}
    assert not Shop.objects.filter(pk=shop.pk).exists()
    assert rows_of(other_shop.pk) == other_before
    # A redelivery finds no shop and stores nothing; running the job again is harmless.
    assert post_webhook(client, "shop/redact", compliance_body(shop), shop.domain).status_code == 200
    assert redaction.redact_shop(shop.pk) == {}
    assert {label: n for label, n in rows_of(shop.pk).items() if n} == {}


def test_shop_redact_after_a_reinstall_keeps_the_shop_but_a_missed_uninstall_does_not(client, shop, other_shop):
    from datetime import timedelta

    from django.utils import timezone

    populate(client, shop)
    # shop: reinstalled an hour ago, so this shop/redact is about the earlier uninstall.
    Shop.objects.filter(pk=shop.pk).update(installed_at=timezone.now() - timedelta(hours=1))
    assert post_webhook(client, "shop/redact", compliance_body(shop), shop.domain).status_code == 200
    assert Shop.objects.filter(pk=shop.pk).exists() and Order.objects.for_shop(shop).count() == 3
    # other_shop: installed for months, its app/uninstalled never reached us; the request stands.
    populate(client, other_shop)
    Shop.objects.filter(pk=other_shop.pk).update(installed_at=timezone.now() - timedelta(days=90))
    assert post_webhook(client, "shop/redact", compliance_body(other_shop), other_shop.domain).status_code == 200
    assert not Shop.objects.filter(pk=other_shop.pk).exists() and not any(rows_of(other_shop.pk).values())


def test_shop_redact_works_in_small_batches(client, shop):
    for pid in range(1, 8):
        post_webhook(client, "products/create", product_body(pid=pid), shop.domain)
    deleted = redaction.redact_shop(shop.pk, batch_size=2)
    assert deleted["catalog.Product"] == 7 and deleted["catalog.Variant"] == 14
    assert not any(rows_of(shop.pk).values())


def test_shop_owned_models_are_ordered_children_first():
    order = [m._meta.label for m, _ in redaction.shop_owned_models()]
    assert order.index("orders.LineItem") < order.index("orders.Order") < order.index("customers.Customer")
    assert order.index("catalog.Variant") < order.index("catalog.Product")


# --- customers/redact ----------------------------------------------------------------------------------------------


def test_customer_redact_leaves_no_pii_of_that_customer_anywhere(client, shop, other_shop, monkeypatch):
    populate(client, shop)
    populate(client, other_shop)  # the same person in another store is another merchant's business
    post_webhook(client, "customers/data_request", compliance_body(
        shop, customer=who(ZELDA), orders_requested=[9001, 9002], data_request={"id": 11}), shop.domain)
    with monkeypatch.context() as m:
        m.setattr(process_webhook, "delay", lambda delivery_id: None)  # still waiting in the queue at redact time
        post_webhook(client, "customers/update", customer_body(updated_at=T2, first="Zeldita"), shop.domain)
    assert any(n in v for _, _, v in text_columns_of(shop.pk) for n in ZELDA_PII)

    resp = post_webhook(client, "customers/redact", compliance_body(
        shop, customer=who(ZELDA), orders_to_redact=[9001, 9002]), shop.domain)
    assert resp.status_code == 200

    leaks = [(label, col) for label, col, value in text_columns_of(shop.pk) for n in ZELDA_PII if n in value]
    assert leaks == []
    # The update that was still queued is applied later and brings nothing of her back.
    queued = WebhookDelivery.objects.for_shop(shop).get(topic="customers/update", processed_at__isnull=True)
    assert webhooks.process_delivery(queued.pk) == "processed"
    leaks = [(label, col) for label, col, value in text_columns_of(shop.pk) for n in ZELDA_PII if n in value]
    assert leaks == []
    assert Customer.objects.for_shop(shop).get(platform_id="501").redacted_at is not None
    # Only Zelda: Otto's data and the other shop's Zelda are untouched.
    assert Customer.objects.for_shop(shop).get(platform_id="502").email == OTTO["email"]
    assert Order.objects.for_shop(shop).get(platform_id="9003").shipping_address["address1"] == "Calle Brennan 123"
    assert Customer.objects.for_shop(other_shop).get(platform_id="501").email == ZELDA["email"]
    # The history stays, anonymous: orders and lines still count for recommendations.
    assert Order.objects.for_shop(shop).filter(customer__platform_id="501").count() == 2
    assert LineItem.objects.for_shop(shop).filter(order__platform_id="9001").exists()


def test_a_failed_delivery_kept_for_a_human_loses_the_pii_too(client, shop):
    populate(client, shop)
    broken = {**order_body(oid=9009, customer=ZELDA), "line_items": [{"title": "no id"}]}
    post_webhook(client, "orders/create", broken, shop.domain)
    kept = WebhookDelivery.objects.for_shop(shop).get(failed=True)
    assert ZELDA["email"] in str(kept.payload)
    post_webhook(client, "customers/redact", compliance_body(shop, customer=who(ZELDA), orders_to_redact=[]),
                 shop.domain)
    kept.refresh_from_db()
    assert kept.payload["id"] == 9009 and not any(n in str(kept.payload) for n in ZELDA_PII)


def test_redaction_sticks_when_later_webhooks_arrive(client, shop):
    populate(client, shop)
    post_webhook(client, "customers/redact", compliance_body(shop, customer=who(ZELDA), orders_to_redact=[9001]),
                 shop.domain)
    post_webhook(client, "orders/updated", order_body(oid=9001, customer=ZELDA, updated_at=T2), shop.domain)
    post_webhook(client, "customers/update", customer_body(updated_at=T2), shop.domain)
    leaks = [(label, col) for label, col, value in text_columns_of(shop.pk) for n in ZELDA_PII if n in value]
    assert leaks == []
    assert Order.objects.for_shop(shop).get(platform_id="9001").financial_status == "paid"  # still applied


def test_customer_redact_is_safe_to_rerun_and_for_unknown_customers(client, shop):
    populate(client, shop)
    body = compliance_body(shop, customer=who(ZELDA), orders_to_redact=[9001])
    for _ in range(2):
        assert post_webhook(client, "customers/redact", body, shop.domain).status_code == 200
    nobody = compliance_body(shop, customer={"id": 999, "email": "nobody@example.com"}, orders_to_redact=[])
    assert post_webhook(client, "customers/redact", nobody, shop.domain).status_code == 200
    assert Customer.objects.for_shop(shop).get(platform_id="502").email == OTTO["email"]


def test_compliance_body_for_another_shop_is_refused(client, shop, other_shop):
    populate(client, other_shop)
    body = compliance_body(other_shop, customer=who(ZELDA), orders_to_redact=[9001])
    assert post_webhook(client, "customers/redact", body, shop.domain).status_code == 400
    assert Customer.objects.for_shop(other_shop).get(platform_id="501").email == ZELDA["email"]


# --- customers/data_request ----------------------------------------------------------------------------------------


def test_data_request_exports_the_customers_orders(client, shop, caplog):
    populate(client, shop)
    body = compliance_body(shop, customer=who(ZELDA), orders_requested=[9001, 9002], data_request={"id": 77})
    with caplog.at_level(logging.INFO, logger="personalize.gdpr"):
        assert post_webhook(client, "customers/data_request", body, shop.domain).status_code == 200
    export = CustomerDataExport.objects.for_shop(shop).get()
    data = export.data
    assert export.request_id == "77" and export.customer_platform_id == "501"
    assert [p["email"] for p in data["profiles"]] == [ZELDA["email"]]
    assert sorted(o["id"] for o in data["orders"]) == ["9001", "9002"]
    first = next(o for o in data["orders"] if o["id"] == "9001")
    assert first["line_items"][0]["quantity"] == 2 and first["line_items"][0]["title"] == "Alpine Jacket"
    assert first["refunds"][0]["amount"] == "20.00"
    assert first["shipping_address"]["address1"] == "Calle Quimbyworth 123"
    assert all(o["id"] != "9003" for o in data["orders"])  # Otto's order is not Zelda's
    assert any("customer data export ready" in r.getMessage() for r in caplog.records)
    # Shopify retries the same request: one export, refreshed.
    post_webhook(client, "customers/data_request", body, shop.domain)
    assert CustomerDataExport.objects.for_shop(shop).count() == 1


def test_other_apps_extend_export_and_redaction_through_the_registry(client, shop):
    populate(client, shop)
    calls = []

    def forget(s, ref):
        calls.append(("redact", s.pk, ref.platform_id, ref.email))

    def export(s, ref):
        return [{"seen": ref.platform_id}]

    redaction.customer_redactor(forget)
    redaction.customer_exporter("test_section")(export)
    try:
        post_webhook(client, "customers/data_request", compliance_body(
            shop, customer=who(ZELDA), orders_requested=[], data_request={"id": 5}), shop.domain)
        post_webhook(client, "customers/redact", compliance_body(shop, customer=who(ZELDA), orders_to_redact=[]),
                     shop.domain)
    finally:
        redaction._customer_redactors.remove(forget)
        redaction._customer_exporters.pop("test_section")
    assert calls == [("redact", shop.pk, "501", ZELDA["email"])]
    # The redaction also removed the export it had made.
    assert not CustomerDataExport.objects.for_shop(shop).exists()


def test_processed_deliveries_keep_no_payload(client, shop):
    populate(client, shop)
    assert not WebhookDelivery.objects.for_shop(shop).filter(payload__isnull=False).exists()


# --- over real HTTP, the Shopify stand-in sending ------------------------------------------------------------------


def _feed(sender, live_server, store, orders: list[int]) -> None:
    """Push a slice of the stand-in store into the app through webhooks."""
    from tests.standins.shopify import webhooks as shopify

    for o in orders:
        spec = store.order_spec(o)
        for product_index in {line[0] for line in spec.lines}:
            deliver(sender, live_server, "products/update", shopify.product_payload(store, product_index),
                    domain=store.domain)
        if spec.customer >= 0:
            deliver(sender, live_server, "customers/update", shopify.customer_payload(store, spec.customer),
                    domain=store.domain)
        deliver(sender, live_server, "orders/create", shopify.order_payload(store, o), domain=store.domain)


@pytest.mark.django_db(transaction=True)
def test_standin_compliance_requests(live_server, standin_store, dispatcher):
    from tests.standins.shopify import webhooks as shopify
    from tests.standins.shopify.store import Store, StoreSize

    store = standin_store
    shop = make_shop(store.domain)
    other_store = Store("delta.myshopify.com", StoreSize(products=8, customers=8, orders=16), seed=7)
    other = make_shop(other_store.domain)
    c = store.order_spec(next(o for o in range(16) if store.order_spec(o).customer >= 0)).customer
    theirs = [o for o in range(16) if store.order_spec(o).customer == c][:2]
    other_customers_order = next(o for o in range(16) if store.order_spec(o).customer not in (c, -1))
    _feed(dispatcher, live_server, store, [*theirs, other_customers_order])
    _feed(dispatcher, live_server, other_store, theirs)
    person = store.customer_fields(c)

    deliver(dispatcher, live_server, "customers/data_request",
            shopify.customers_data_request_payload(store, c, theirs))
    export = CustomerDataExport.objects.for_shop(shop).get()
    assert sorted(o["id"] for o in export.data["orders"]) == sorted(str(shopify.ORDER_BASE + o) for o in theirs)
    assert all(o["line_items"] for o in export.data["orders"])

    deliver(dispatcher, live_server, "customers/redact", shopify.customers_redact_payload(store, c, theirs))
    needles = [person["email"], person["phone"], f"{person['first']} {person['last']}"]
    assert [(m, col) for m, col, v in text_columns_of(shop.pk) for n in needles if n in v] == []
    assert Customer.objects.for_shop(other).get(platform_id=str(shopify.CUSTOMER_BASE + c)).email == person["email"]

    other_before = rows_of(other.pk)
    deliver(dispatcher, live_server, "app/uninstalled", shopify.shop_payload(store))
    deliver(dispatcher, live_server, "shop/redact", shopify.shop_redact_payload(store))
    assert not Shop.objects.filter(pk=shop.pk).exists()
    assert not any(rows_of(shop.pk).values())
    assert rows_of(other.pk) == other_before
    assert all(d.statuses == [200] for d in dispatcher.deliveries)


@pytest.mark.django_db(transaction=True)
def test_standin_store_life_from_first_order_to_shop_redact(webhook_standin):
    standin = webhook_standin
    """The stand-in decides what to send (several webhooks per change, concurrently, in any order)."""
    domain = "epsilon.myshopify.com"
    state = standin.add_shop(domain, installed=True)
    shop = make_shop(domain)
    store = state.store
    variant = int(store.product(store.product_indexes()[0])["variants"]()[0]["legacyResourceId"]) \
        - shopify_ids().VARIANT_BASE
    c = standin.create_customer(domain, first="Ingrid", last="Vasquezhold", email="ingrid.v@example.org",
                                phone="+34600111222")
    assert standin.wait_for_webhooks(15)
    standin.create_product_event(domain, int(store.v_product[variant]))
    assert standin.wait_for_webhooks(15)
    o = standin.create_order(domain, [(variant, 2)], customer=c)
    assert standin.wait_for_webhooks(15)
    standin.refund_order(domain, o, [(0, 1)])
    assert standin.wait_for_webhooks(15)
    order = Order.objects.for_shop(shop).get(platform_id=str(shopify_ids().ORDER_BASE + o))
    assert order.customer.email == "ingrid.v@example.org" and order.financial_status == "partially_refunded"
    assert LineItem.objects.for_shop(shop).get(order=order).refunded_quantity == 1

    standin.request_customer_data(domain, c)
    assert standin.wait_for_webhooks(15)
    assert [o_["id"] for o_ in CustomerDataExport.objects.for_shop(shop).get().data["orders"]] == [order.platform_id]
    standin.redact_customer(domain, c)
    assert standin.wait_for_webhooks(15)
    pii = ["ingrid.v@example.org", "+34600111222", "Vasquezhold", "Ingrid"]
    assert [(m, col) for m, col, v in text_columns_of(shop.pk) for n in pii if n in v] == []

    standin.uninstall(domain)
    assert standin.wait_for_webhooks(15)
    shop.refresh_from_db()
    assert shop.state == Shop.State.UNINSTALLED and Order.objects.for_shop(shop).exists()
    standin.redact_shop(domain)
    assert standin.wait_for_webhooks(15)
    assert not Shop.objects.filter(pk=shop.pk).exists() and not any(rows_of(shop.pk).values())
    assert all(d.delivered for d in standin.deliveries), [(d.topic, d.statuses) for d in standin.deliveries]


def shopify_ids():
    from tests.standins.shopify import store

    return store
