"""Full sync over real HTTP against the Shopify stand-in: bulk operations, JSONL streaming, resumability."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from backend.catalog.models import Collection, CollectionMembership, InventoryLevel, Product, Variant
from backend.customers.models import Customer
from backend.orders.models import LineItem, Order, Refund
from backend.shops.models import SyncRun
from integrations.shopify.sync import run_sync, start_full_sync

pytestmark = pytest.mark.django_db


def expected(store) -> dict:
    """What the stand-in's store holds, counted from its own GraphQL-shaped records."""
    products = [store.product(i) for i in store.product_indexes()]
    variants = [v for p in products for v in p["variants"]()]
    orders = [store.order(o) for o in store.order_indexes()]
    return {
        "products": len(products),
        "variants": len(variants),
        "customers": store.customer_count,
        "orders": len(orders),
        "lines": sum(len(o["lineItems"]()) for o in orders),
        "refunds": sum(len(o["refunds"]()) for o in orders),
        "collections": store.collection_count,
        "memberships": sum(len(p["collections"]()) for p in products),
        "product_sample": products[3],
        "variant_sample": variants[5],
        "order_sample": orders[7],
    }


def counts(shop) -> dict:
    return {
        "products": Product.objects.for_shop(shop).count(),
        "variants": Variant.objects.for_shop(shop).count(),
        "customers": Customer.objects.for_shop(shop).count(),
        "orders": Order.objects.for_shop(shop).count(),
        "lines": LineItem.objects.for_shop(shop).count(),
        "refunds": Refund.objects.for_shop(shop).count(),
        "collections": Collection.objects.for_shop(shop).count(),
        "memberships": CollectionMembership.objects.for_shop(shop).count(),
    }


def assert_matches_store(shop, store):
    want = expected(store)
    got = counts(shop)
    assert got == {k: v for k, v in want.items() if not k.endswith("_sample")}
    p = want["product_sample"]
    row = Product.objects.for_shop(shop).get(platform_id=p["legacyResourceId"])
    assert row.title == p["title"] and row.handle == p["handle"] and row.status == p["status"].lower()
    assert row.total_inventory == p["totalInventory"]
    v = want["variant_sample"]
    vrow = Variant.objects.for_shop(shop).get(platform_id=v["legacyResourceId"])
    assert vrow.price == Decimal(v["price"]) and vrow.sku == v["sku"]
    assert vrow.inventory_quantity == v["inventoryQuantity"]
    assert InventoryLevel.objects.for_shop(shop).filter(variant=vrow).count() == 2
    o = want["order_sample"]
    orow = Order.objects.for_shop(shop).get(platform_id=o["legacyResourceId"])
    assert orow.name == o["name"] and orow.total_price == Decimal(o["totalPriceSet"]["shopMoney"]["amount"])
    assert orow.line_items.count() == len(o["lineItems"]())
    assert all(li.product_id for li in orow.line_items.all())  # linked to the synced catalog
    for c in range(min(store.customer_count, 12)):  # contact and consent, read from defaultEmailAddress (2026-04)
        node = store.customer(c)
        crow = Customer.objects.for_shop(shop).get(platform_id=node["legacyResourceId"])
        email = node["defaultEmailAddress"]
        assert crow.email == (email["emailAddress"] if email else "")
        assert crow.accepts_marketing == bool(email and email["marketingState"] == "SUBSCRIBED")


def test_full_sync_ends_with_exactly_the_stores_data(standin, standin_shop):
    run = start_full_sync(standin_shop, enqueue=False)
    run_sync(standin_shop, run, poll_interval=0.05)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE and run.percent == 100
    assert {s: st["state"] for s, st in run.stages.items()} == dict.fromkeys(
        ("collections", "products", "customers", "orders"), "done")
    store = standin.store(standin_shop.domain)
    assert_matches_store(standin_shop, store)
    channels = set(Order.objects.for_shop(standin_shop).values_list("channel", flat=True))
    assert {"online", "pos"} <= channels
    standin_shop.refresh_from_db()
    assert set(standin_shop.reconcile_cursors) == {"collections", "products", "customers", "orders"}


def test_a_sync_interrupted_mid_stream_resumes_from_its_offset_without_duplicates(standin, standin_shop, monkeypatch):
    from integrations.shopify import sync

    calls = {"n": 0}
    real = sync.UPSERTS["orders"]

    def crash_on_third_batch(shop, items):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker died")  # the process is gone mid-stage: nothing after this point ran
        return real(shop, items)

    monkeypatch.setitem(sync.UPSERTS, "orders", crash_on_third_batch)
    run = start_full_sync(standin_shop, enqueue=False)
    with pytest.raises(RuntimeError):
        run_sync(standin_shop, run, batch_size=10, poll_interval=0.05)
    run = SyncRun.objects.for_shop(standin_shop).get(pk=run.pk)  # what a new worker would load
    orders_stage = run.stages["orders"]
    assert run.status == SyncRun.Status.RUNNING and orders_stage["state"] == "downloading"
    assert orders_stage["lines_done"] > 0 and orders_stage["families_done"] > 0
    applied_before = Order.objects.for_shop(standin_shop).count()
    assert 0 < applied_before < standin.store(standin_shop.domain).order_count
    monkeypatch.setitem(sync.UPSERTS, "orders", real)
    bulk_requests = standin.shop(standin_shop.domain).graphql_requests
    run_sync(standin_shop, run, batch_size=10, poll_interval=0.05)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE
    # Resumed from the recorded checkpoint: no new bulk operation was started (the same result is read again).
    assert standin.shop(standin_shop.domain).graphql_requests - bulk_requests <= 1
    assert_matches_store(standin_shop, standin.store(standin_shop.domain))


def test_a_bulk_query_a_crashed_attempt_started_is_adopted_not_run_again(standin, standin_shop):
    """The worker died between starting the stage's bulk query and recording its id: the next attempt finds it
    running (bulkOperations, API 2026-01 on) and waits for that one instead of starting a second."""
    from integrations.shopify import documents
    from integrations.shopify.client import ShopifyClient

    state = standin.shop(standin_shop.domain)
    state.bulk.duration = 1.0  # long enough to be found running
    try:
        with ShopifyClient(standin_shop) as client:
            lost = client.run_bulk_query(documents.BULK_COLLECTIONS)
        run = start_full_sync(standin_shop, enqueue=False)
        run_sync(standin_shop, run, poll_interval=0.05)
    finally:
        state.bulk.duration = 0.0
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE and run.stages["collections"]["bulk_id"] == lost["id"]
    assert len(state.bulk.operations) == 4
    assert_matches_store(standin_shop, standin.store(standin_shop.domain))


def test_throttling_slows_the_sync_but_never_fails_it(standin, standin_shop):
    from integrations.shopify.client import ShopifyClient

    state = standin.shop(standin_shop.domain)
    state.bucket.restore_rate = 8.0
    state.bucket.available = 0.0  # an empty, slow bucket: queries are THROTTLED until it refills
    with ShopifyClient(standin_shop) as client:
        run = start_full_sync(standin_shop, enqueue=False)
        run_sync(standin_shop, run, client=client, poll_interval=0.05)
        assert client.throttled_waits >= 1
    state.bucket.restore_rate = standin.restore_rate
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE and state.throttled >= 1
    assert_matches_store(standin_shop, standin.store(standin_shop.domain))


def test_http_429_is_waited_out(standin, standin_shop):
    from integrations.shopify.client import ShopifyClient

    standin.fail_graphql(standin_shop.domain, 429, 2)
    with ShopifyClient(standin_shop) as client:
        assert client.graphql("{ shop { name } }")["shop"]["name"]
        assert client.throttled_waits == 2


def test_token_refreshes_before_expiry_and_once_on_a_401(standin, standin_shop):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.shopify.client import ShopifyClient

    first = standin_shop.access_token
    # Near expiry: refreshed before the call.
    standin_shop.access_token_expires_at = timezone.now() + timedelta(seconds=30)
    standin_shop.save(update_fields=["access_token_expires_at"])
    with ShopifyClient(standin_shop) as client:
        assert client.graphql("{ shop { name } }")["shop"]["name"]
    standin_shop.refresh_from_db()
    second = standin_shop.access_token
    assert second != first and standin_shop.access_token_expires_at > timezone.now() + timedelta(minutes=5)
    # Revoked/expired on Shopify's side while we think it is valid: one 401, one refresh, the call succeeds.
    standin.expire_token(second)
    with ShopifyClient(standin_shop) as client:
        assert client.graphql("{ shop { name } }")["shop"]["name"]
    standin_shop.refresh_from_db()
    assert standin_shop.access_token not in (first, second)


def test_a_dead_refresh_token_fails_cleanly(standin, standin_shop):
    from integrations.base.errors import Unauthorized
    from integrations.shopify.client import ShopifyClient

    standin.expire_token(standin_shop.access_token)
    standin_shop.refresh_token = "shprt_revoked"
    standin_shop.save(update_fields=["refresh_token"])
    with ShopifyClient(standin_shop) as client, pytest.raises(Unauthorized):
        client.graphql("{ shop { name } }")


def test_reconciliation_heals_missed_webhooks_and_advances_the_cursor(standin, standin_shop):
    from integrations.shopify.reconcile import reconcile_shop

    run = start_full_sync(standin_shop, enqueue=False)
    run_sync(standin_shop, run, poll_interval=0.05)
    standin_shop.refresh_from_db()
    cursors = dict(standin_shop.reconcile_cursors)
    store = standin.store(standin_shop.domain)
    # Changes whose webhooks we never received (this stand-in has no webhook URL).
    variant = 4
    standin.set_price(standin_shop.domain, variant, "123.45")
    standin.update_customer(standin_shop.domain, 2, first="Renamed")
    new_order = standin.create_order(standin_shop.domain, [(variant, 2)], customer=2, source="pos")
    applied = reconcile_shop(standin_shop)
    assert applied["products"] >= 1 and applied["customers"] >= 1 and applied["orders"] >= 1
    v = Variant.objects.for_shop(standin_shop).get(platform_id=store.variant(variant)["legacyResourceId"])
    assert v.price == Decimal("123.45")
    assert Customer.objects.for_shop(standin_shop).get(
        platform_id=store.customer(2)["legacyResourceId"]).first_name == "Renamed"
    order = Order.objects.for_shop(standin_shop).get(platform_id=store.order(new_order)["legacyResourceId"])
    assert order.channel == "pos" and order.line_items.get().quantity == 2 and order.customer is not None
    standin_shop.refresh_from_db()
    assert standin_shop.reconcile_cursors["orders"] > cursors["orders"]
    assert_matches_store(standin_shop, store)
    # A second pass finds only the boundary records again and changes nothing.
    before = counts(standin_shop)
    reconcile_shop(standin_shop)
    assert counts(standin_shop) == before


@pytest.mark.django_db(transaction=True)
def test_bulk_finish_webhook_wakes_the_waiting_sync(live_server, settings, eager_celery):
    """The stand-in POSTs bulk_operations/finish to the running app; the sync stops waiting at once instead of
    at its next poll (30 s here, longer than the test's whole budget)."""
    from tests.standins.shopify import ShopifyStandin

    from .sync_support import API_KEY, API_SECRET, SMALL, install_from_token, new_domain

    settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET = API_KEY, API_SECRET
    with ShopifyStandin(API_KEY, API_SECRET, app_url=live_server.url, webhook_url=f"{live_server.url}/shopify/webhooks",
                        size=SMALL, bulk_duration=0.3, retry_delays=(0.1,)) as hooked:
        settings.SHOPIFY_STANDIN_URL = hooked.base_url
        domain = new_domain("hook")
        hooked.add_shop(domain)
        shop = install_from_token(domain, hooked.issue_token(domain))
        run = start_full_sync(shop, enqueue=False)
        started = time.monotonic()
        run_sync(shop, run, poll_interval=30.0)
        assert time.monotonic() - started < 20
        assert len(hooked.deliveries_for("bulk_operations/finish", domain)) == 4
        assert_matches_store(shop, hooked.store(domain))
        hooked.wait_for_webhooks(timeout=5)  # no delivery may still be in flight when the live server stops
    # The stand-in's keep-alive connection just closed; let the live server's request thread finish with it while
    # the test database is still shared with that thread.
    time.sleep(0.5)


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_killed_mid_sync_leaves_a_task_that_resumes(standin, settings, tmp_path):
    """A real worker process (prefork child) is SIGKILLed in the middle of a stage; acks_late + reject on worker
    lost put the task back on the queue, the next child resumes from the recorded offset."""
    import os
    import signal
    import subprocess
    import sys

    from django.db import connection

    from integrations.shopify.tasks.sync import sync_shop
    from tests.standins.shopify import StoreSize

    from .sync_support import install_from_token, new_domain

    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs a broker: set REDIS_URL (a real worker consumes the task)")
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        pytest.skip("the worker process cannot see an in-memory SQLite test database; run on PostgreSQL")
    domain = new_domain("kill")
    standin.add_shop(domain, size=StoreSize(products=60, customers=60, orders=240))
    shop = install_from_token(domain, standin.issue_token(domain))
    queue = f"sync-test-{os.getpid()}-{shop.pk}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SHOPIFY_STANDIN_URL": standin.base_url, "SHOPIFY_API_KEY": settings.SHOPIFY_API_KEY,
        "SHOPIFY_API_SECRET": settings.SHOPIFY_API_SECRET, "SHOPIFY_SYNC_BATCH_SIZE": "10",
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        # libpq names the worker's sessions, so the cleanup below ends only theirs (not the live server's).
        "PGAPPNAME": queue[:63],
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - the worker writes it until the finally below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend.config", "worker", "-Q", queue, "-c", "1",
         "--pool", "prefork", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        run = start_full_sync(shop, enqueue=False)
        sync_shop.apply_async((shop.pk, run.pk), queue=queue)
        killed = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and killed is None:
            run.refresh_from_db()
            stage = run.stages.get("orders", {})
            if stage.get("lines_done", 0) > 0 and run.status == SyncRun.Status.RUNNING:
                children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
                pids = [int(p) for p in children.stdout.split()]
                if pids:
                    killed = (pids[0], stage["lines_done"])
                    os.kill(pids[0], signal.SIGKILL)
            time.sleep(0.05)
        assert killed, "the sync finished before it could be killed: " + (tmp_path / "worker.log").read_text()[-2000:]
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status != SyncRun.Status.RUNNING:
                break
            time.sleep(0.2)
        assert run.status == SyncRun.Status.DONE, (tmp_path / "worker.log").read_text()[-3000:]
        assert "WorkerLostError" in (tmp_path / "worker.log").read_text() or killed
        # Resumed, not restarted: one bulk operation per stage, all of them.
        assert len(standin.shop(domain).bulk.operations) == 4
        assert_matches_store(shop, standin.store(domain))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()
        with connection.cursor() as c:  # the killed child's session may linger; the test DB must be droppable
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND application_name = %s", [queue[:63]])


def test_sync_shop_command_runs_a_full_sync_with_a_progress_bar(standin, standin_shop, settings, capsys):
    from django.core.management import call_command

    settings.CELERY_TASK_ALWAYS_EAGER = True  # run here, not on a worker
    call_command("sync_shop", standin_shop.domain, "--full")
    out = capsys.readouterr()
    assert "synced" in out.out and "rec" in out.err  # the tqdm bar went to stderr
    assert_matches_store(standin_shop, standin.store(standin_shop.domain))
    call_command("sync_shop", standin_shop.domain)  # no --full: reconcile since the cursors
    assert "reconciled" in capsys.readouterr().out


def test_an_uninstalled_shop_stops_syncing_between_stages(standin, standin_shop, monkeypatch):
    from backend.shops.models import Shop
    from integrations.shopify import sync

    real = sync.UPSERTS["products"]

    def uninstall_during_products(shop, items):
        Shop.objects.filter(pk=shop.pk).update(state=Shop.State.UNINSTALLED)
        return real(shop, items)

    monkeypatch.setitem(sync.UPSERTS, "products", uninstall_during_products)
    run = start_full_sync(standin_shop, enqueue=False)
    run_sync(standin_shop, run, poll_interval=0.05)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED and run.stages["customers"]["state"] == "pending"
    assert not Order.objects.for_shop(standin_shop).exists()


def test_the_http_client_retries_5xx_with_backoff_then_raises_a_typed_error(standin, standin_shop, settings):
    from integrations.base.errors import ServerError, Unauthorized
    from integrations.base.http import send
    from integrations.shopify.http import shopify_client

    url = f"https://{standin_shop.domain}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json"
    headers = {"X-Shopify-Access-Token": standin_shop.access_token}
    slept: list[float] = []
    with shopify_client() as http:
        standin.fail_graphql(standin_shop.domain, 503, 2)
        ok = send(http, "POST", url, json={"query": "{ shop { name } }"}, headers=headers, sleep=slept.append)
        assert ok.status_code == 200 and len(slept) == 2
        standin.fail_graphql(standin_shop.domain, 503, 5)
        with pytest.raises(ServerError):
            send(http, "POST", url, json={"query": "{ shop { name } }"}, headers=headers, retries=2,
                 sleep=slept.append)
        with pytest.raises(Unauthorized):  # not retried: a 401 will not get better by waiting
            send(http, "POST", url, json={"query": "{ shop { name } }"}, headers={}, sleep=slept.append)
    assert len(slept) == 4
