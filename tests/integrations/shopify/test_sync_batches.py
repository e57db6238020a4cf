"""The sync's batch writer: ids it remembers across batches, and what happens when one goes stale."""
from __future__ import annotations

import queue
import threading
import time
from decimal import Decimal

import pytest

from backend.catalog.upsert import remembered_ids
from backend.customers.models import Customer
from backend.customers.upsert import delete_customers, upsert_customers
from backend.orders.models import LineItem, Order
from backend.orders.upsert import upsert_orders
from backend.shops.models import SyncRun
from integrations.base.types import CustomerData, LineItemData, OrderData
from integrations.shopify.sync import READ_ONLY, UPSERTS, _write_batches


def order(n: int, customer: str) -> OrderData:
    return OrderData(platform_id=f"o{n}", customer_platform_id=customer, total_price=Decimal("5.00"),
                     line_items=(LineItemData(platform_id=f"l{n}", quantity=1, price=Decimal("5.00")),))


def feed(*batches: list, after: int = 0) -> queue.Queue:
    """The reader's messages for these batches (following `after` families): checkpoints (families, lines) of
    one family of one line per batch."""
    q: queue.Queue = queue.Queue()
    for n, records in enumerate(batches, start=after + 1):
        q.put(("batch", records, (n, n), 0))
    q.put(("end", [], (after + len(batches), after + len(batches)), 0))
    return q


@pytest.mark.django_db(transaction=True)  # the stale id must fail at a real COMMIT, as it does in a worker
def test_a_customer_deleted_between_batches_is_looked_up_again_not_linked_stale(shop):
    upsert_customers(shop, [CustomerData(platform_id="c1", email="a@example.com")])
    run = SyncRun.objects.create(shop=shop, kind="full", stages={"orders": {"state": "downloading"}})
    with remembered_ids(shop, *READ_ONLY["orders"]):
        _write_batches(shop, run, "orders", feed([order(1, "c1")]))
        # A customers/delete webhook lands between two batches; the writer still remembers c1's pk.
        delete_customers(shop, ["c1"])
        _write_batches(shop, run, "orders", feed([order(2, "c1")], after=1))
    orders = {o.platform_id: o for o in Order.objects.for_shop(shop)}
    assert set(orders) == {"o1", "o2"}  # nothing lost
    assert orders["o2"].customer_id is None and orders["o2"].customer_platform_id == "c1"
    assert LineItem.objects.for_shop(shop).filter(order=orders["o2"]).count() == 1
    assert not Customer.objects.for_shop(shop).exists()
    assert run.stages["orders"]["lines_done"] == 2


@pytest.mark.django_db
def test_remembered_ids_stay_with_their_shop(shop, other_shop):
    upsert_customers(shop, [CustomerData(platform_id="c1", email="a@example.com")])
    upsert_customers(other_shop, [CustomerData(platform_id="c1", email="b@example.com")])
    with remembered_ids(shop, Customer):
        upsert_orders(shop, [order(1, "c1")])
        upsert_orders(other_shop, [order(1, "c1")])
    for s in (shop, other_shop):
        linked = Order.objects.for_shop(s).get(platform_id="o1").customer
        assert linked.shop_id == s.pk and linked.platform_id == "c1"


@pytest.mark.django_db(transaction=True)
def test_parallel_appliers_record_checkpoints_in_file_order_and_never_past_a_failed_batch(shop, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("batches are applied in parallel on PostgreSQL only")
    appliers = []

    def upsert(shop, records):  # noqa: ANN001
        appliers.append(threading.current_thread().name)
        first = records[0].platform_id
        if first == "o1":
            time.sleep(0.5)  # the first batch commits after the second
        if first == "o4":
            raise RuntimeError("the database went away")
        return upsert_orders(shop, records)

    monkeypatch.setitem(UPSERTS, "orders", upsert)
    run = SyncRun.objects.create(shop=shop, kind="full", stages={"orders": {"state": "downloading"}})
    with pytest.raises(RuntimeError):
        _write_batches(shop, run, "orders", feed(*[[order(n, "")] for n in range(1, 7)]))
    assert run.stages["orders"]["lines_done"] == 3  # a resumed sync repeats batch 4 onwards, never skips it
    assert {"o1", "o2", "o3"} <= set(Order.objects.for_shop(shop).values_list("platform_id", flat=True))
    assert appliers and all(name.startswith("apply-orders") for name in appliers)
