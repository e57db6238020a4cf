"""The upsert functions: idempotent, order-safe (children too), stock totals consistent, late links filled."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from backend.catalog.models import Collection, CollectionMembership, InventoryLevel, Product, Variant
from backend.catalog.upsert import (
    apply_inventory_updates,
    delete_collections,
    delete_products,
    upsert_collections,
    upsert_products,
)
from backend.customers.models import Customer
from backend.customers.upsert import delete_customers, upsert_customers
from backend.orders.models import LineItem, Order, Refund
from backend.orders.upsert import upsert_orders
from integrations.base.types import (
    CollectionData,
    CustomerData,
    InventoryLevelData,
    InventoryUpdate,
    LineItemData,
    OrderData,
    ProductData,
    RefundData,
    VariantData,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def product(pid: str, ts: datetime, price: str = "10.00", stock: tuple[int, int] = (3, 4), variants: int = 2,
            **kw) -> ProductData:
    return ProductData(
        platform_id=pid, title=f"Product {pid}", handle=f"p-{pid}", tags=("a", "b"), updated_at=ts,
        variants=tuple(
            VariantData(
                platform_id=f"{pid}{i}", product_platform_id=pid, title=f"V{i}", sku=f"SKU-{pid}-{i}",
                price=Decimal(price), inventory_item_id=f"ii{pid}{i}", updated_at=ts,
                inventory_levels=(InventoryLevelData("L1", stock[0], "Main"), InventoryLevelData("L2", stock[1])),
            )
            for i in range(variants)
        ),
        **kw,
    )


def snapshot(shop) -> list[dict]:
    rows = []
    for model in (Product, Variant, InventoryLevel, Collection, CollectionMembership, Customer, Order, LineItem,
                  Refund):
        for obj in model.objects.for_shop(shop).order_by("id"):
            d = model_to_dict(obj)
            d.pop("synced_at", None)
            rows.append((model.__name__, obj.pk, d))
    return rows


def test_products_variants_and_stock_are_written_with_consistent_totals(shop):
    assert upsert_products(shop, [product("1", T0), product("2", T0, stock=(0, 0))]) == 2
    p1 = Product.objects.for_shop(shop).get(platform_id="1")
    assert p1.variants.count() == 2
    assert p1.total_inventory == 14 and p1.available_for_sale
    v = Variant.objects.for_shop(shop).get(platform_id="10")
    assert v.inventory_quantity == 7 and v.price == Decimal("10.00")
    assert InventoryLevel.objects.for_shop(shop).filter(variant=v).count() == 2
    assert Product.objects.for_shop(shop).get(platform_id="2").total_inventory == 0


def test_reapplying_the_same_batch_changes_nothing(shop):
    batch = [product("1", T0), product("2", T0)]
    upsert_products(shop, batch)
    upsert_orders(shop, [OrderData(platform_id="o1", updated_at=T0, line_items=(LineItemData("l1", "1", "10"),))])
    before = snapshot(shop)
    upsert_products(shop, batch)
    upsert_orders(shop, [OrderData(platform_id="o1", updated_at=T0, line_items=(LineItemData("l1", "1", "10"),))])
    assert snapshot(shop) == before


def test_an_older_version_changes_nothing_including_children(shop):
    upsert_products(shop, [product("1", T0 + timedelta(hours=1), price="20.00")])
    before = snapshot(shop)
    applied = upsert_products(shop, [product("1", T0, price="5.00", stock=(0, 0), variants=1)])
    assert applied == 0
    assert snapshot(shop) == before


def test_a_newer_version_replaces_children_that_vanished(shop):
    upsert_products(shop, [product("1", T0)])
    newer = product("1", T0 + timedelta(minutes=1), price="12.00", variants=1)
    newer = ProductData(**{**newer.__dict__, "variants": (
        VariantData(platform_id="10", product_platform_id="1", price=Decimal("12.00"), inventory_item_id="ii10",
                    inventory_levels=(InventoryLevelData("L1", 5),)),)})
    upsert_products(shop, [newer])
    p = Product.objects.for_shop(shop).get(platform_id="1")
    assert list(p.variants.values_list("platform_id", flat=True)) == ["10"]
    assert list(InventoryLevel.objects.for_shop(shop).values_list("location_id", "available")) == [("L1", 5)]
    assert p.total_inventory == 5


def test_variants_none_keeps_stored_variants(shop):
    upsert_products(shop, [product("1", T0)])
    upsert_products(shop, [ProductData(platform_id="1", title="Renamed", updated_at=T0 + timedelta(minutes=1))])
    p = Product.objects.for_shop(shop).get(platform_id="1")
    assert p.title == "Renamed" and p.variants.count() == 2 and p.total_inventory == 14


def test_inventory_updates_are_order_safe_and_recompute_totals(shop):
    upsert_products(shop, [product("1", T0, variants=1)])
    t = T0 + timedelta(minutes=5)
    assert apply_inventory_updates(shop, [InventoryUpdate("ii10", "L1", 0, t), InventoryUpdate("ii10", "L2", 0, t)])
    p = Product.objects.for_shop(shop).get(platform_id="1")
    assert p.total_inventory == 0 and not p.available_for_sale
    assert not Variant.objects.for_shop(shop).get(platform_id="10").available_for_sale
    # A late, older delivery does not resurrect stock.
    assert apply_inventory_updates(shop, [InventoryUpdate("ii10", "L1", 9, T0 + timedelta(minutes=1))]) == 0
    assert Product.objects.for_shop(shop).get(platform_id="1").total_inventory == 0
    apply_inventory_updates(shop, [InventoryUpdate("ii10", "L3", 2, t)])
    p.refresh_from_db()
    assert p.total_inventory == 2 and p.available_for_sale


def test_soft_delete_and_collections(shop):
    upsert_collections(shop, [CollectionData("c1", "Hats", "hats", updated_at=T0)])
    upsert_products(shop, [product("1", T0, collection_ids=("c1",)), product("2", T0, collection_ids=())])
    hats = Collection.objects.for_shop(shop).get(platform_id="c1")
    assert list(hats.products.values_list("platform_id", flat=True)) == ["1"]
    upsert_collections(shop, [CollectionData("c1", "Hats", "hats", product_ids=("2", "1"),
                                             updated_at=T0 + timedelta(seconds=1))])
    assert sorted(hats.products.values_list("platform_id", flat=True)) == ["1", "2"]
    assert delete_products(shop, ["1"]) == 1
    assert delete_products(shop, ["1"]) == 0
    assert Product.objects.for_shop(shop).get(platform_id="1").deleted_at is not None
    assert delete_collections(shop, ["c1"]) >= 1
    assert not Collection.objects.for_shop(shop).exists()


def test_orders_link_late_catalog_and_customers(shop, other_shop):
    order = OrderData(
        platform_id="o1", name="#1001", customer_platform_id="c9", currency="EUR", total_price=Decimal("30"),
        channel="pos", updated_at=T0,
        line_items=(LineItemData("l1", "1", "10", quantity=2, price=Decimal("10")), LineItemData("l2", "2", "20")),
        refunds=(RefundData("r1", Decimal("10"), line_items=(("l1", 1),)),),
    )
    assert upsert_orders(shop, [order]) == 1
    line = LineItem.objects.for_shop(shop).get(platform_id="l1")
    assert line.product_id is None and line.refunded_quantity == 1
    o = Order.objects.for_shop(shop).get(platform_id="o1")
    assert o.total_refunded == Decimal("10") and o.channel == "pos" and o.customer_id is None
    upsert_products(shop, [product("1", T0)])
    upsert_products(other_shop, [product("2", T0)])  # another shop's product never links
    upsert_customers(shop, [CustomerData("c9", email="A@X.ES", country="es", updated_at=T0)])
    line.refresh_from_db()
    o.refresh_from_db()
    assert line.product.platform_id == "1" and line.variant.platform_id == "10"
    assert LineItem.objects.for_shop(shop).get(platform_id="l2").product_id is None
    assert o.customer.email == "a@x.es" and o.customer.country == "ES"
    # An edited order drops a line; an older version afterwards changes nothing.
    edited = OrderData(**{**order.__dict__, "updated_at": T0 + timedelta(hours=1),
                          "line_items": order.line_items[:1]})
    upsert_orders(shop, [edited])
    upsert_orders(shop, [order])
    assert list(LineItem.objects.for_shop(shop).values_list("platform_id", flat=True)) == ["l1"]


def test_redacted_customer_stays_redacted_and_delete(shop):
    upsert_customers(shop, [CustomerData("c1", email="a@x.com", first_name="Ann", updated_at=T0)])
    c = Customer.objects.for_shop(shop).get(platform_id="c1")
    c.redact()
    c.save()
    upsert_customers(shop, [CustomerData("c1", email="a@x.com", first_name="Ann", orders_count=3,
                                         updated_at=T0 + timedelta(days=1))])
    c.refresh_from_db()
    assert c.email == "" and c.first_name == "" and c.orders_count == 3
    assert delete_customers(shop, ["c1"]) == 1


def test_hostile_strings_are_capped(shop):
    upsert_products(shop, [ProductData(platform_id="1", title="x" * 5000, handle="h" * 900, updated_at=T0)])
    p = Product.objects.for_shop(shop).get(platform_id="1")
    assert len(p.title) == 512 and len(p.handle) == 255


def test_large_batches_take_the_same_path_semantics(shop):
    """Batches past COPY_THRESHOLD use PostgreSQL's COPY fast path: same results, same idempotency."""
    from backend.catalog.upsert import COPY_THRESHOLD

    n = COPY_THRESHOLD + 20
    batch = [product(str(i), T0) for i in range(n)]
    assert upsert_products(shop, batch) == n
    orders = [OrderData(platform_id=f"o{i}", updated_at=T0, customer_platform_id="c1",
                        line_items=(LineItemData(f"l{i}", str(i), f"{i}0", price=Decimal("2.50")),))
              for i in range(n)]
    assert upsert_orders(shop, orders) == n
    before = snapshot(shop)
    upsert_products(shop, batch)
    upsert_orders(shop, orders)
    assert snapshot(shop) == before
    assert Variant.objects.for_shop(shop).count() == 2 * n and InventoryLevel.objects.for_shop(shop).count() == 4 * n
    line = LineItem.objects.for_shop(shop).get(platform_id="l7")
    assert line.product.platform_id == "7" and line.variant.platform_id == "70" and line.price == Decimal("2.50")
    assert Product.objects.for_shop(shop).get(platform_id="3").tags == ["a", "b"]
    # Older versions in a large batch change nothing either.
    upsert_products(shop, [product(str(i), T0 - timedelta(days=1), price="1.00") for i in range(n)])
    assert snapshot(shop) == before
