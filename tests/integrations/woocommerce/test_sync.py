"""Sync against the stand-in over real HTTP: the database ends up holding exactly the store's data."""
from __future__ import annotations

from decimal import Decimal

import pytest

from backend.catalog.models import Collection, CollectionMembership, Product, Variant
from backend.customers.models import Customer
from backend.orders.models import LineItem, Order
from backend.shops.models import SyncRun
from integrations.base.errors import ServerError
from integrations.woocommerce.client import WooClient
from integrations.woocommerce.sync import WooCommercePlatform, run_sync, start_sync

pytestmark = pytest.mark.django_db


def expected(standin) -> dict:
    s = standin.store
    products = list(s.records("products"))
    variants = sum(len(p["variations"]) or 1 for p in products)
    orders = list(s.records("orders"))
    return {
        "products": {str(p["id"]) for p in products},
        "variants": variants,
        "customers": {str(c["id"]) for c in s.records("customers")},
        "orders": {str(o["id"]) for o in orders},
        "lines": sum(len(o["line_items"]) for o in orders),
    }


def census(shop) -> dict:
    return {
        "products": set(Product.objects.for_shop(shop).values_list("platform_id", flat=True)),
        "variants": Variant.objects.for_shop(shop).count(),
        "customers": set(Customer.objects.for_shop(shop).values_list("platform_id", flat=True)),
        "orders": set(Order.objects.for_shop(shop).values_list("platform_id", flat=True)),
        "lines": LineItem.objects.for_shop(shop).count(),
    }


def test_full_sync_brings_in_exactly_the_store(woo_shop, standin):
    run = run_sync(start_sync(woo_shop))
    assert run.status == SyncRun.Status.DONE
    assert census(woo_shop) == expected(standin)
    assert run.rows_done == run.rows_total == 8 + 45 + 30 + 120
    assert run.percent == 100

    # Categories are collections, with every product a member of its category.
    assert set(Collection.objects.for_shop(woo_shop).values_list("handle", flat=True)) >= {"jackets", "hats",
                                                                                            "gloves"}
    assert CollectionMembership.objects.for_shop(woo_shop).count() == 45
    # A variable product's variations are its variants, with their own stock; a simple product has one variant.
    variable = next(p for p in standin.store.records("products") if p["variations"])
    stored = Product.objects.for_shop(woo_shop).get(platform_id=str(variable["id"]))
    variations = standin.store.get_variations(variable["id"])
    assert {v.platform_id for v in stored.variants.all()} == {str(v["id"]) for v in variations}
    assert stored.total_inventory == sum(v["stock_quantity"] for v in variations)
    assert stored.available_for_sale == any(v["stock_quantity"] > 0 for v in variations)
    # Orders carry totals, coupons and status; lines link to our products and variants.
    coupon_order = next(o for o in standin.store.records("orders") if o["coupon_lines"])
    order = Order.objects.for_shop(woo_shop).get(platform_id=str(coupon_order["id"]))
    assert order.total_price == Decimal(coupon_order["total"])
    assert order.discount_codes == [coupon_order["coupon_lines"][0]["code"]]
    assert order.financial_status == coupon_order["status"]
    assert order.currency == "EUR"
    assert order.customer is not None or coupon_order["customer_id"] == 0
    assert all(li.product_id and li.variant_id for li in order.line_items.all())


def test_sync_twice_changes_nothing(woo_shop, standin):
    run_sync(start_sync(woo_shop))
    first = census(woo_shop)
    run_sync(start_sync(woo_shop))
    assert census(woo_shop) == first == expected(standin)


def test_interrupted_sync_resumes_without_loss_or_duplicates(woo_shop, standin, woo_settings):
    woo_settings.WOOCOMMERCE_RETRIES = 1
    run = start_sync(woo_shop)
    client = WooClient.for_shop(woo_shop)
    original = client.page
    calls = {"n": 0}

    def page_then_crash(endpoint, page, *args, **kw):
        calls["n"] += 1
        if endpoint == "orders" and page == 2 and kw.get("orderby"):
            # The store falls over in the middle of the orders: every retry fails too.
            standin.fail_next(50, 503)
        return original(endpoint, page, *args, **kw)

    client.page = page_then_crash
    with pytest.raises(ServerError):
        run_sync(run, client)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.stages["orders"]["page"] == 1 and run.stages["products"]["state"] == "done"
    assert len(census(woo_shop)["orders"]) == 100

    standin._faults.clear()
    before = len(standin.api_requests())
    from integrations.woocommerce.sync import resume_sync

    run = run_sync(resume_sync(run))
    assert run.status == SyncRun.Status.DONE
    assert census(woo_shop) == expected(standin)
    # Resumed at page 2: nothing before it was read again.
    resumed = [r[1] for r in standin.api_requests()[before:]]
    assert all(r.startswith("/wp-json/wc/v3/orders?") for r in resumed)
    assert resumed and all("page=1&" not in r and not r.endswith("page=1") for r in resumed)
    assert run.rows_done == run.rows_total


def test_incremental_sync_reads_only_what_changed(woo_shop, standin):
    run_sync(start_sync(woo_shop))
    product = standin.store.records("products").__next__()
    standin.store.update_product(product["id"], name="Renamed in the store")
    order = standin.store.create_order([product["id"]], customer_id=2, coupon="VIP20")
    before = len(standin.api_requests())
    run = run_sync(start_sync(woo_shop, kind="incremental"))
    assert run.status == SyncRun.Status.DONE
    assert Product.objects.for_shop(woo_shop).get(platform_id=str(product["id"])).title == "Renamed in the store"
    assert Order.objects.for_shop(woo_shop).get(platform_id=str(order["id"])).discount_codes == ["vip20"]
    product_pages = [r for r in standin.api_requests()[before:] if r[1].startswith("/wp-json/wc/v3/products?")]
    assert product_pages and all("modified_after=" in r[1] for r in product_pages)
    # What changed, plus the record at the cursor itself (the one-second overlap re-reads it, harmlessly).
    assert run.stages["products"]["total"] <= 2 and run.stages["orders"]["total"] <= 2


def test_deletion_between_pages_does_not_skip_a_record(woo_shop, standin):
    client = WooClient.for_shop(woo_shop)
    original = client.page
    deleted = []

    def page_and_delete(endpoint, page, *args, **kw):
        result = original(endpoint, page, *args, **kw)
        if endpoint == "customers" and page == 1 and len(result.items) > 3 and not deleted:
            # A customer on page 1 is deleted after we read it: everything after it slides back by one.
            victim = result.items[3]["id"]
            standin.store.deleted_customers.add(victim)
            deleted.append(str(victim))
        return result

    client.page = page_and_delete
    standin.store.size.customers = 130  # two pages of customers
    run = run_sync(start_sync(woo_shop), client)
    assert run.status == SyncRun.Status.DONE
    stored = census(woo_shop)["customers"]
    assert stored == expected(standin)["customers"] | set(deleted)


def test_platform_protocol_yields_batches(woo_shop):
    from integrations.base.platform import Platform

    platform = WooCommercePlatform()
    assert isinstance(platform, Platform)
    batches = list(platform.iter_orders(woo_shop))
    assert [len(b) for b in batches] == [100, 20]


def test_throttled_sync_completes(db, woo_settings):
    from tests.integrations.woocommerce.factories import connect_shop
    from tests.standins.woocommerce import StoreSize, WooStandin

    woo_settings.WOOCOMMERCE_RETRIES = 8
    # A burst of 2: the four parallel variation reads of a page always run into it.
    with WooStandin(StoreSize(products=30, customers=10, orders=150), rate_limit=(2, 10.0)) as store:
        shop = connect_shop(store)
        run = run_sync(start_sync(shop))
        assert run.status == SyncRun.Status.DONE and store.throttled > 0
        assert census(shop) == expected(store)



def test_reconcile_task_starts_incremental_runs_once(woo_shop, standin, eager_celery):
    from integrations.woocommerce.tasks.sync import reconcile_woocommerce_shops

    run_sync(start_sync(woo_shop))
    standin.store.update_product(standin.store.product_ids()[0], name="Healed by reconcile")
    assert reconcile_woocommerce_shops() == 1
    runs = SyncRun.objects.for_shop(woo_shop).order_by("started_at")
    assert [r.kind for r in runs] == ["full", "incremental"] and runs.last().status == SyncRun.Status.DONE
    assert Product.objects.for_shop(woo_shop).get(platform_id=str(standin.store.product_ids()[0])).title == \
        "Healed by reconcile"
    # While a run is going, the beat does not start a second one.
    SyncRun.objects.for_shop(woo_shop).filter(pk=runs.last().pk).update(status=SyncRun.Status.RUNNING)
    assert reconcile_woocommerce_shops() == 0


@pytest.mark.django_db
def test_sync_shop_command_finds_the_platform_from_the_shop(woo_shop, standin, settings, capsys):
    """`manage.py sync_shop DOMAIN` with no --platform: the shop's own platform decides which connector runs."""
    from django.core.management import call_command

    from backend.catalog.models import Product

    settings.CELERY_TASK_ALWAYS_EAGER = True  # run here, not on a worker

    call_command("sync_shop", woo_shop.domain, "--full")
    assert Product.objects.for_shop(woo_shop).count() == len(list(standin.store.records("products")))
    standin.store.update_product(standin.store.product_ids()[0], name="Renamed by the merchant")
    call_command("sync_shop", woo_shop.domain)  # no --full: what changed since the cursors
    assert Product.objects.for_shop(woo_shop).get(
        platform_id=str(standin.store.product_ids()[0])).title == "Renamed by the merchant"
    assert "synced" in capsys.readouterr().out
    # A run already going is not driven a second time (two drivers would race its checkpoints).
    from django.core.management.base import CommandError

    running = start_sync(woo_shop, kind="incremental")
    with pytest.raises(CommandError, match="already running"):
        call_command("sync_shop", woo_shop.domain)
    running.refresh_from_db()
    assert running.status == SyncRun.Status.RUNNING and running.rows_done == 0


def test_reconciliation_heals_a_variation_only_change(woo_shop, standin):
    """A variation's save does not move its parent's date_modified, so `products?modified_after` never lists it;
    the incremental run reads `variations?modified_after` (WooCommerce 10.3+) and re-reads those parents."""
    run_sync(start_sync(woo_shop))
    variable = next(p for p in standin.store.records("products") if p["variations"])
    vid = variable["variations"][0]
    standin.store.update_variation(variable["id"], vid, stock_quantity=3, stock_status="instock")
    assert standin.store.get_product(variable["id"])["date_modified_gmt"] == variable["date_modified_gmt"]
    before = len(standin.api_requests())
    run = run_sync(start_sync(woo_shop, kind="incremental"))  # no webhook arrived: only reconciliation can heal
    assert run.status == SyncRun.Status.DONE
    assert Variant.objects.for_shop(woo_shop).get(platform_id=str(vid)).inventory_quantity == 3
    # That parent's variations were read again, not every variable product's (the other one at most is the
    # product at the cursor, which the one-second overlap re-reads).
    reread = {r[1].split("?")[0] for r in standin.api_requests()[before:] if "/variations?" in r[1]} - {
        "/wp-json/wc/v3/variations"}
    assert f"/wp-json/wc/v3/products/{variable['id']}/variations" in reread and len(reread) <= 2, reread
