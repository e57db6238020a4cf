"""First sync from ungrouped bulk output (API 2026-01 on): a child line anywhere in the file, before its parent or far
after it, is still applied, with its parent, and nothing is counted as an orphan."""
from __future__ import annotations

import httpx
import orjson
import pytest

from backend.catalog.models import InventoryLevel, Variant
from backend.orders.models import LineItem
from backend.shops.models import SyncRun
from integrations.shopify import documents
from integrations.shopify.client import ShopifyClient
from integrations.shopify.sync import run_sync, start_full_sync
from tests.standins.shopify import StoreSize

from .sync_support import install_from_token, new_domain
from .test_sync import assert_matches_store

pytestmark = pytest.mark.django_db

BIGGER = StoreSize(products=160, variants_per_product=3.0, customers=40, orders=320, lines_per_order=3.0)
BATCH = 10  # the reader's window is a few batches: "far" means farther than that


@pytest.fixture
def bigger_shop(standin):
    domain = new_domain("ungrouped")
    standin.add_shop(domain, size=BIGGER)
    return install_from_token(domain, standin.issue_token(domain))


def placements(shop, query: str) -> dict[str, int]:
    """How the stand-in placed child lines relative to their parent in the file the app would download."""
    with ShopifyClient(shop) as client:
        op = client.run_bulk_query(query)
        while op.get("status") != "COMPLETED":
            op = client.bulk_operation(op["id"])
        lines = [orjson.loads(line) for line in httpx.get(op["url"]).content.splitlines() if line.strip()]
    position = {row["id"]: n for n, row in enumerate(lines)}
    out = {"children": 0, "before_parent": 0, "far_after_parent": 0}
    for n, row in enumerate(lines):
        parent = row.get("__parentId")
        if parent is None:
            continue
        out["children"] += 1
        out["before_parent"] += n < position[parent]
        out["far_after_parent"] += n - position[parent] > 20 * BATCH
    return out


def test_the_stand_in_writes_ungrouped_output_from_2026_01(bigger_shop, settings):
    assert settings.SHOPIFY_API_VERSION >= "2026-01"
    for query in (documents.BULK_PRODUCTS, documents.BULK_ORDERS):
        seen = placements(bigger_shop, query)
        assert seen["before_parent"] > 0 and seen["far_after_parent"] > 0, seen


def test_a_first_sync_from_ungrouped_output_keeps_every_variant_and_line(standin, bigger_shop):
    run = start_full_sync(bigger_shop, enqueue=False)
    run_sync(bigger_shop, run, batch_size=BATCH, poll_interval=0.05)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE
    assert {stage: state.get("orphans", 0) for stage, state in run.stages.items()} == dict.fromkeys(
        ("collections", "products", "customers", "orders"), 0)
    # One bulk query per stage, each result downloaded once (the next stage's fetched while this one is applied).
    operations = standin.shop(bigger_shop.domain).bulk.operations.values()
    assert [op.downloads for op in operations] == [1, 1, 1, 1]
    stages = run.stages
    for before, after in (("collections", "products"), ("products", "customers"), ("customers", "orders")):
        assert stages[after]["snapshot_at"] < stages[before]["finished_at"], (before, after)
    store = standin.store(bigger_shop.domain)
    assert_matches_store(bigger_shop, store)
    # Every variant has its stock at both locations, every order all its lines (not just the sampled ones).
    assert InventoryLevel.objects.for_shop(bigger_shop).count() == 2 * Variant.objects.for_shop(bigger_shop).count()
    for o in store.order_indexes()[::37]:
        order = store.order(o)
        assert LineItem.objects.for_shop(bigger_shop).filter(
            order__platform_id=order["legacyResourceId"]).count() == len(order["lineItems"]())
