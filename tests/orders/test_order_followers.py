"""An order arriving by webhook (the upsert path, which sends no post_save) reaches every follower at once;
a bulk sync batch waits for the end of the sync instead of flooding the queue."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.catalog.models import Product
from backend.customers.models import Customer
from backend.orders.signals import orders_recorded
from backend.orders.upsert import upsert_orders
from backend.recommendations.models import RecordedLine
from backend.segments.membership import segment_keys_for
from integrations.base.types import LineItemData, OrderData


def _order(pid: str, customer: str, products: list[str], days_ago: int = 0) -> OrderData:
    when = timezone.now() - timedelta(days=days_ago)
    return OrderData(
        platform_id=pid,
        customer_platform_id=customer,
        total_price=Decimal("30.00"),
        line_items=tuple(LineItemData(platform_id=f"{pid}-{p}", product_platform_id=p, quantity=1,
                                      price=Decimal("15.00")) for p in products),
        processed_at=when,
        created_at=when,
        updated_at=when,
    )


@pytest.fixture
def eager_celery():
    """Run the followers' tasks in-process even when CI configures a broker: the test is the worker."""
    from backend.config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def catalog(shop):
    from django.core.cache import cache

    cache.clear()  # segment keys are cached per customer pk, and pks repeat across tests
    for pid in ("p1", "p2"):
        Product.objects.create(shop=shop, platform_id=pid, title=pid, total_inventory=5)
    return Customer.objects.create(shop=shop, platform_id="c1", email="ana@example.com", country="ES")


@pytest.mark.django_db
def test_a_webhook_order_updates_segments_and_pairs_at_once(shop, catalog, eager_celery,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upsert_orders(shop, [_order("o1", "c1", ["p1"], days_ago=30)])
    assert "buyers:first" in segment_keys_for(shop, customer_id=catalog.pk)
    with django_capture_on_commit_callbacks(execute=True):
        upsert_orders(shop, [_order("o2", "c1", ["p1", "p2"])])
    keys = segment_keys_for(shop, customer_id=catalog.pk)
    assert "buyers:repeat" in keys and "buyers:first" not in keys
    # The also-bought engine consumed both orders' lines.
    assert RecordedLine.objects.for_shop(shop).count() == 3


@pytest.mark.django_db
def test_a_sync_sized_batch_is_marked_bulk(shop, catalog, django_capture_on_commit_callbacks):
    seen = []

    def listen(sender, **kw):
        seen.append((len(kw["order_ids"]), kw["bulk"]))

    orders_recorded.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            upsert_orders(shop, [_order(f"b{i}", "c1", ["p1"]) for i in range(60)])
        with django_capture_on_commit_callbacks(execute=True):
            upsert_orders(shop, [_order("single", "c1", ["p2"])])
    finally:
        orders_recorded.disconnect(listen)
    assert seen == [(60, True), (1, False)]
