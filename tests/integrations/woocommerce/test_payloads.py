"""WooCommerce JSON → our dataclasses, on the stand-in's documented shapes and on hostile input."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.woocommerce import payloads
from tests.standins.woocommerce import Store, StoreSize


@pytest.fixture(scope="module")
def store():
    return Store(StoreSize(products=40, customers=10, orders=60))


def test_simple_product_is_one_variant_with_the_products_id(store):
    p = next(p for p in store.records("products") if p["type"] == "simple")
    data = payloads.product_from_wc(p)
    assert data.platform_id == str(p["id"]) and [v.platform_id for v in data.variants] == [str(p["id"])]
    v = data.variants[0]
    assert v.price == Decimal(p["price"]) and v.inventory_quantity == p["stock_quantity"]
    assert v.available_for_sale == (p["stock_quantity"] > 0)
    assert data.collection_ids == (str(p["categories"][0]["id"]),)
    assert data.tags == tuple(t["name"] for t in p["tags"])
    assert data.updated_at == datetime.fromisoformat(p["date_modified_gmt"]).replace(tzinfo=UTC)


def test_variable_product_and_stock_rules(store):
    p = next(p for p in store.records("products") if p["type"] == "variable")
    variations = store.get_variations(p["id"])
    variations[0] = {**variations[0], "manage_stock": "parent"}
    parent = {**p, "manage_stock": True, "stock_quantity": 9}
    variations[1] = {**variations[1], "stock_status": "outofstock", "stock_quantity": 0, "backorders": "notify"}
    data = payloads.product_from_wc(parent, variations)
    by_id = {v.platform_id: v for v in data.variants}
    assert by_id[str(variations[0]["id"])].inventory_quantity == 9
    backorder = by_id[str(variations[1]["id"])]
    assert backorder.available_for_sale and backorder.inventory_policy == "continue"
    # Without its variations (a webhook body), a variable product keeps the stored variants.
    assert payloads.product_from_wc(p).variants is None


def test_order_mapping(store):
    o = next(o for o in store.records("orders") if o["coupon_lines"] and o["line_items"])
    data = payloads.order_from_wc({**o, "created_via": "pos-rest-api"})
    assert data.channel == "pos" and data.discount_codes == (o["coupon_lines"][0]["code"],)
    assert data.total_price == Decimal(o["total"]) and data.total_discounts == Decimal(o["discount_total"])
    assert sum(li.total_discount for li in data.line_items) == Decimal(o["discount_total"])
    li, src = data.line_items[0], o["line_items"][0]
    assert li.variant_platform_id == str(src["variation_id"] or src["product_id"])
    assert payloads.channel_for("checkout") == "online" and payloads.channel_for("admin") == "draft"
    assert payloads.channel_for("amazon-mcf") == "marketplace"
    refunded = payloads.order_from_wc({**o, "status": "refunded",
                                       "refunds": [{"id": 9, "reason": "x", "total": "-12.50"}]})
    assert refunded.total_refunded == Decimal("12.50")
    cancelled = payloads.order_from_wc({**o, "status": "cancelled"})
    assert cancelled.cancelled_at is not None


def test_customer_mapping(store):
    c = store.get_customer(2)
    data = payloads.customer_from_wc(c)
    assert (data.email, data.country, data.city) == (c["email"], c["billing"]["country"], c["billing"]["city"])


@pytest.mark.parametrize("bad", [{}, {"id": None}, {"id": -3}, {"id": "12abc"}, {"id": True}, {"id": [1]}])
def test_unusable_ids_are_refused(bad):
    with pytest.raises(payloads.PayloadError):
        payloads.product_from_wc({**bad, "type": "simple"})
    with pytest.raises(payloads.PayloadError):
        payloads.order_from_wc(bad)


def test_hostile_values_are_capped_and_coerced():
    data = payloads.product_from_wc({"id": 5, "type": "simple", "name": "<script>" * 200, "price": "abc",
                                     "categories": "nope", "tags": [None, {"name": 3}], "images": [{"src": None}]})
    assert len(data.title) <= 512 and data.variants[0].price == Decimal("0") and data.collection_ids == ()
