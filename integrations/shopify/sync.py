"""First (full) sync of a Shopify store through Bulk Operations, resumable at any point.

Stages are applied one after another: collections, then products with variants, stock per location and
memberships, then customers, then orders with lines and refunds (each links to what the earlier ones wrote). Each
stage: start `bulkOperationRunQuery` → wait for `bulk_operations/finish` (the webhook calls
`on_bulk_operation_finished`; polling is the fallback) → download the JSONL result to a local file and sort its
lines into families by `__parentId` (bulkfile.py: from API 2026-01 a child line may be anywhere in the file) → map
each parent with all its children to dataclasses and upsert in batches. The next stage's query runs and its result
downloads while this stage is applied (`NextStage`; several bulk queries may run at once from 2026-01).

Progress lives in SyncRun.stages[stage]: the bulk operation id, its result url, and how many families (and their
lines) have been applied. A killed worker's task is redelivered (acks_late), downloads the same result again and
continues after those families; re-applying the batch that was in flight is harmless because upserts are idempotent.
"""
from __future__ import annotations

import contextvars
import copy
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from backend.catalog.models import Collection, Product, Variant
from backend.catalog.upsert import forget_remembered, remembered_ids, upsert_collections, upsert_products
from backend.customers.models import Customer
from backend.customers.upsert import upsert_customers
from backend.orders.upsert import upsert_orders
from backend.shops.models import Shop, SyncRun
from backend.shops.signals import sync_finished
from integrations.base.errors import IntegrationError, NotFound, RateLimited

from . import documents
from .bulkfile import BulkFile, regroup
from .client import ShopifyClient
from .records import MAPPERS

logger = logging.getLogger("personalize.shopify.sync")

STAGES = ("collections", "products", "customers", "orders")
UPSERTS: dict[str, Callable[[Shop, Any], int]] = {
    "collections": upsert_collections,
    "products": upsert_products,
    "customers": upsert_customers,
    "orders": upsert_orders,
}
# A child line's GID type → the key its parent node holds it under (the connection's field name).
CHILD_KEYS = {"ProductVariant": "variants", "Collection": "collections", "InventoryLevel": "inventoryLevels",
              "LineItem": "lineItems"}
# What each stage's rows link to but never write: their platform id → pk lookups are remembered for the stage.
READ_ONLY: dict[str, tuple[type[Model], ...]] = {
    "products": (Collection,),
    "orders": (Product, Variant, Customer),
}
# Children connections a parent line always gets (empty when no child line follows: "has none", not "unknown").
CHILD_LISTS = {"products": ("variants", "collections"), "orders": ("lineItems",)}
BATCH_SIZE = 1000
APPLIERS = 2  # batches written at once on PostgreSQL (see _write_batches)
FINISHED_KEY = "shopify:bulk-finished:{}"
MAX_STAGE_ATTEMPTS = 3
CURSOR_MARGIN = timedelta(minutes=5)  # reconciliation restarts a little before the bulk snapshot was taken


class SyncFailed(Exception):
    pass


# --- entry points -------------------------------------------------------------------------------------------------


def start_full_sync(shop: Shop, *, force_new: bool = False, enqueue: bool = True) -> SyncRun:
    """Create (or reuse the running) full SyncRun and queue the task that drives it."""
    run = None if force_new else current_run(shop)
    if run is None:
        if force_new:
            SyncRun.objects.for_shop(shop).filter(status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.CANCELLED, finished_at=timezone.now())
        run = SyncRun.objects.create(shop=shop, kind="full", stages={s: {"state": "pending"} for s in STAGES})
    if enqueue:
        from .tasks.sync import sync_shop

        sync_shop.delay(shop.pk, run.pk)
    return run


def current_run(shop: Shop) -> SyncRun | None:
    return SyncRun.objects.for_shop(shop).filter(kind="full", status=SyncRun.Status.RUNNING).order_by(
        "-started_at").first()


def on_bulk_operation_finished(shop: Shop, payload: dict) -> None:
    """Called by the bulk_operations/finish webhook: wake the sync waiting for that operation.

    Only a flag in the cache (the waiting sync polls it): the webhook never writes the SyncRun, so it cannot race
    the sync's own progress writes. If the flag is lost, polling Shopify still finds the operation finished.
    """
    gid = str(payload.get("admin_graphql_api_id") or "")[:200]
    if not gid.startswith("gid://shopify/BulkOperation/"):
        return
    cache.set(FINISHED_KEY.format(gid), str(payload.get("status") or "completed")[:40], timeout=86400)
    logger.info("bulk operation finished shop=%s op=%s status=%s", shop.domain, gid, payload.get("status"))


def run_sync(shop: Shop, run: SyncRun, *, client: ShopifyClient | None = None, batch_size: int | None = None,
             poll_interval: float = 1.0, sleep: Callable[[float], None] = time.sleep,
             progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Drive a full sync to the end, resuming from whatever `run.stages` records. `progress` is called with the
    run after every recorded step (the `sync_shop` command's progress bar)."""
    if run.status != SyncRun.Status.RUNNING:
        return run
    _progress[run.pk] = progress
    batch_size = batch_size or getattr(settings, "SHOPIFY_SYNC_BATCH_SIZE", BATCH_SIZE)
    own_client = client is None
    client = client or ShopifyClient(shop, sleep=sleep)
    ahead: NextStage | None = None
    try:
        for number, stage in enumerate(STAGES):
            state = run.stages.setdefault(stage, {"state": "pending"})
            if state.get("state") == "done":
                continue
            if _stopped(run):
                logger.info("sync of shop=%s stopped (run %s cancelled or shop uninstalled)", shop.domain, run.pk)
                SyncRun.objects.for_shop(shop).filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
                    status=SyncRun.Status.CANCELLED, finished_at=timezone.now())
                run.refresh_from_db()
                return run
            following = next((s for s in STAGES[number + 1:]
                              if (run.stages.get(s) or {}).get("state", "pending") == "pending"
                              and not (run.stages.get(s) or {}).get("bulk_id")), None)
            ahead = _run_stage(client, shop, run, stage, batch_size, poll_interval, sleep, ahead, following)
        run.status = SyncRun.Status.DONE
        run.finished_at = timezone.now()
        run.error = ""
        run.save(update_fields=["status", "finished_at", "error", "stages", "rows_done", "rows_total"])
        logger.info("full sync done shop=%s rows=%s", shop.domain, run.rows_done)
        transaction.on_commit(lambda: sync_finished.send(sender=SyncRun, shop_id=shop.pk, kind=run.kind), robust=True)
        if progress:
            progress(run)
    finally:
        if ahead is not None:
            ahead.close()
        _progress.pop(run.pk, None)
        if own_client:
            client.close()
    return run


def _stopped(run: SyncRun) -> bool:
    """Someone cancelled this run (a newer full sync, an uninstall) since it started."""
    status = SyncRun.objects.for_shop(run.shop_id).filter(pk=run.pk).values_list("status", flat=True).first()
    shop_state = Shop.objects.filter(pk=run.shop_id).values_list("state", flat=True).first()
    if status != SyncRun.Status.RUNNING:
        run.status = status or SyncRun.Status.CANCELLED
        return True
    return shop_state != Shop.State.INSTALLED


def fail_run(run: SyncRun, error: str) -> None:
    run.status = SyncRun.Status.FAILED
    run.error = error[:2000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


# --- one stage ----------------------------------------------------------------------------------------------------


_progress: dict[int, Callable[[SyncRun], None] | None] = {}


def _save(run: SyncRun) -> None:
    run.save(update_fields=["stages", "rows_done", "rows_total"])
    callback = _progress.get(run.pk)
    if callback:
        callback(run)


def _run_stage(client: ShopifyClient, shop: Shop, run: SyncRun, stage: str, batch_size: int, poll_interval: float,
               sleep: Callable[[float], None], ahead: NextStage | None = None,
               following: str | None = None) -> NextStage | None:
    """Run one stage to its end; returns the following stage's query started and downloading meanwhile."""
    state = run.stages[stage]
    prefetched: BulkFile | None = None
    if ahead is not None:
        op, prefetched = ahead.take() if ahead.stage == stage and not state.get("bulk_id") else ({}, None)
        if op.get("id"):
            state.update(state="running", bulk_id=op["id"], snapshot_at=ahead.started_at)
            _save(run)
        ahead.close()
        ahead = None
    try:
        while True:
            if not state.get("bulk_id"):
                _start_bulk(client, run, stage, sleep)
            if state.get("state") == "running":
                op = _wait_for_bulk(client, state["bulk_id"], poll_interval, sleep)
                status = str(op.get("status") or "").upper()
                if status != "COMPLETED":
                    attempts = state.get("attempts", 0) + 1
                    logger.warning("bulk %s for shop=%s ended %s (%s)", stage, shop.domain, status,
                                   op.get("errorCode"))
                    if attempts >= MAX_STAGE_ATTEMPTS:
                        raise SyncFailed(f"{stage}: bulk operation {status} ({op.get('errorCode')})")
                    run.stages[stage] = state = {"state": "pending", "attempts": attempts}
                    _save(run)
                    continue
                objects = int(op.get("objectCount") or 0)
                state.update(state="downloading", url=op.get("url") or "", objects=objects, lines_done=0,
                             families_done=0)
                run.rows_total = (run.rows_total or 0) + objects
                _save(run)
            if state.get("state") == "downloading":
                if following and ahead is None:
                    ahead = NextStage(shop, following, poll_interval)
                if prefetched is not None and prefetched.url != state.get("url"):
                    prefetched.close()
                    prefetched = None
                try:
                    if state.get("url"):
                        bulk, prefetched = prefetched, None
                        _apply_file(client, shop, run, stage, batch_size, bulk)
                except NotFound:
                    # The result URL expired (Shopify keeps it a week): run the stage's bulk query again.
                    run.stages[stage] = state = {"state": "pending", "attempts": state.get("attempts", 0)}
                    _save(run)
                    continue
                state["state"] = "done"
                state["finished_at"] = timezone.now().isoformat()
                _advance_cursor(shop, stage, state.get("snapshot_at"))
                _save(run)
                return ahead
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise
    finally:
        if prefetched is not None:
            prefetched.close()


class NextStage:
    """The next stage's bulk query, started and its result downloaded while this stage is applied: on Shopify a big
    store's query runs for minutes, and from API 2026-01 several may run at once. Nothing of it is recorded in the
    run until that stage begins, so a crash only leaves an unused operation behind (the stage starts its own)."""

    def __init__(self, shop: Shop, stage: str, poll_interval: float) -> None:
        self.stage = stage
        self.started_at = timezone.now().isoformat()
        self.op: dict = {}
        self.bulk: BulkFile | None = None
        self._stop = threading.Event()
        # Its own copy of the shop: the client may refresh the token on it.
        self._thread = threading.Thread(target=self._fetch, args=(copy.copy(shop), poll_interval),
                                        name=f"prefetch-{stage}", daemon=True)
        self._thread.start()

    def _fetch(self, shop: Shop, poll_interval: float) -> None:
        try:
            with ShopifyClient(shop) as client:
                op = client.run_bulk_query(documents.BULK_QUERIES[self.stage])
                self.op = op
                op = _wait_for_bulk(client, op["id"], poll_interval, time.sleep, stop=self._stop)
                if str(op.get("status") or "").upper() != "COMPLETED" or not op.get("url"):
                    return
                bulk = BulkFile.download(client, op["url"], stop=self._stop)
                if self._stop.is_set():  # cut short: not a whole file
                    bulk.close()
                    return
                self.op, self.bulk = op, bulk
        except Exception as exc:  # the stage then starts or downloads its own
            logger.info("prefetch of %s for shop=%s gave up: %r", self.stage, shop.domain, exc)
        finally:
            connection.close()  # this thread's connection, if the token refresh opened one

    def take(self) -> tuple[dict, BulkFile | None]:
        """Wait for the download; (the operation, as far as it got, and its file or None: the caller's now)."""
        self._thread.join()
        bulk, self.bulk = self.bulk, None
        return self.op, bulk

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.bulk is not None:
            self.bulk.close()
            self.bulk = None


def _start_bulk(client: ShopifyClient, run: SyncRun, stage: str, sleep: Callable[[float], None]) -> None:
    query = documents.BULK_QUERIES[stage]
    waited = 0.0
    snapshot_at = timezone.now().isoformat()
    while True:
        # This stage's query from a crashed attempt (started, its id never recorded) may still be running: adopt it
        # (its snapshot is as old as it is: reconciliation must start from there).
        op = next((o for o in client.running_bulk_operations() if _same_query(o.get("query"), query)), None)
        if op is not None:
            snapshot_at = str(op.get("createdAt") or snapshot_at)
            break
        try:
            op = client.run_bulk_query(query)
            break
        except RateLimited:
            # As many bulk queries as Shopify allows are running (another app job, another stage's): wait.
            if waited > 900:
                raise
            sleep(2.0)
            waited += 2.0
    state = run.stages[stage]
    state.update(state="running", bulk_id=op["id"], snapshot_at=snapshot_at)
    _save(run)


def _same_query(a: Any, b: str) -> bool:
    return bool(a) and " ".join(str(a).split()) == " ".join(b.split())


def _wait_for_bulk(client: ShopifyClient, gid: str, poll_interval: float, sleep: Callable[[float], None],
                   stop: threading.Event | None = None) -> dict:
    """Wait until the operation is no longer running (or `stop` is set). Wakes early when the finish webhook
    arrives; otherwise asks Shopify every `poll_interval` seconds, backing off to 10 s."""
    interval = poll_interval
    key = FINISHED_KEY.format(gid)
    while True:
        op = client.bulk_operation(gid)
        if str(op.get("status") or "").upper() not in ("CREATED", "RUNNING", "CANCELING"):
            cache.delete(key)
            return op
        waited = 0.0
        while waited < interval:
            if cache.get(key) or (stop is not None and stop.is_set()):
                break
            step = min(0.2, interval)
            sleep(step)
            waited += step
        if stop is not None and stop.is_set():
            return op
        interval = min(interval * 1.5, 10.0)


def _apply_file(client: ShopifyClient, shop: Shop, run: SyncRun, stage: str, batch_size: int,
                bulk: BulkFile | None = None) -> None:
    """Download the stage's JSONL, then apply it family by family (a parent with all its children, wherever the
    file put them) from the recorded checkpoint, in batches.

    A reader thread reads families back from the local copy, regroups and maps them while this thread writes to
    the database. The queue between them is short: memory holds at most a few batches.
    """
    state = run.stages[stage]
    if "families_done" not in state:  # progress recorded by an older version of this reader: start over
        state.update(families_done=0, lines_done=0)
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_batches, name=f"jsonl-{stage}", daemon=True,
        args=(client, state["url"], stage, batch_size, int(state["families_done"]), batches, stop, bulk),
    )
    reader.start()
    try:
        with remembered_ids(shop, *READ_ONLY.get(stage, ())):
            _write_batches(shop, run, stage, batches)
    finally:
        stop.set()
        reader.join(timeout=30)


def _write_batches(shop: Shop, run: SyncRun, stage: str, batches: queue.Queue) -> None:
    """Apply the reader's batches, recording in order the checkpoint (families, lines) a resumed sync starts from.

    On PostgreSQL (outside a caller's transaction) APPLIERS batches are applied at once, each on its own
    connection, so the database writes one batch while Python prepares the next. A checkpoint is saved only once
    its batch and every batch before it are committed; a crash repeats the ones after it, which is harmless.
    """
    state = run.stages[stage]
    upsert = UPSERTS[stage]
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    pool = ThreadPoolExecutor(max_workers=APPLIERS, thread_name_prefix=f"apply-{stage}") if parallel else None
    pending: deque[tuple[Future, tuple[int, int], int]] = deque()
    try:
        while True:
            kind, records, checkpoint, orphans = batches.get()
            if kind == "error":
                raise records
            if pool is not None:
                # The copied context carries the stage's remembered ids to the applier thread.
                job = pool.submit(contextvars.copy_context().run, _apply_on_own_connection, shop, upsert, records)
            else:
                job = Future()
                _apply_batch(shop, upsert, records)
                job.set_result(None)
            pending.append((job, checkpoint, orphans))
            while pending and (len(pending) > APPLIERS or pending[0][0].done() or kind == "end"):
                done, (done_families, done_lines), orphans = pending.popleft()
                done.result()  # an applier's error ends the stage here, before its checkpoint is recorded
                run.rows_done = (run.rows_done or 0) + max(0, done_lines - int(state.get("lines_done") or 0))
                state["families_done"], state["lines_done"] = done_families, done_lines
                state["orphans"] = orphans  # of the whole file, counted when it was indexed
                _save(run)
            if kind == "end":
                return
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _apply_on_own_connection(shop: Shop, upsert: Callable[[Shop, Any], int], records: list) -> None:
    try:
        _apply_batch(shop, upsert, records)
    finally:
        connection.close()  # this applier thread's connection; the next batch opens its own


def _apply_batch(shop: Shop, upsert: Callable[[Shop, Any], int], records: list) -> None:
    """One batch in one transaction; retried once when a remembered id went stale or the database chose this
    transaction as a deadlock victim (re-applying a batch is harmless)."""
    if not records:
        return
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                _relax_durability()
                upsert(shop, records)
            return
        except IntegrityError:
            # A row this stage links to was deleted (a webhook) after its id was remembered: ask again.
            if attempt == 2 or not forget_remembered():
                raise
        except OperationalError as exc:
            if attempt == 2 or not isinstance(exc.__cause__, DeadlockDetected):
                raise


def _read_batches(client: ShopifyClient, url: str, stage: str, batch_size: int, first: int, out: queue.Queue,
                  stop: threading.Event, bulk: BulkFile | None = None) -> None:
    """Reader thread: the file's families from `first` on (downloaded here unless `bulk` already is) → mapped
    dataclass batches on `out`, each with the (families, lines) checkpoint up to which everything is in that
    batch or an earlier one."""
    mapper = MAPPERS[stage]
    child_lists = CHILD_LISTS.get(stage, ())

    def put(message: tuple) -> bool:
        while not stop.is_set():
            try:
                out.put(message, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    try:
        with bulk or BulkFile.download(client, url, stop=stop) as bulk:
            orphans = bulk.orphans
            taken: list = []
            done = first
            for number, lines in bulk.read(first):
                if stop.is_set():
                    return
                node, unplaced = regroup(lines, CHILD_KEYS, child_lists)
                orphans += unplaced
                if node is not None:
                    taken.append(mapper(node))
                done = number + 1
                if len(taken) >= batch_size:
                    if not put(("batch", taken, (done, bulk.lines_before(done)), orphans)):
                        return
                    taken = []
            put(("end", taken, (bulk.families, bulk.lines), orphans))
    except BaseException as exc:  # handed to the writing thread, which raises it there
        put(("error", exc, (0, 0), 0))


def _relax_durability() -> None:
    """A bulk batch need not wait for its WAL flush: if PostgreSQL crashes before the flush, the progress record
    (committed after it, so flushed after it) is lost too, and the batch is simply applied again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _advance_cursor(shop: Shop, stage: str, snapshot_at: str | None) -> None:
    """Reconciliation continues from just before the bulk snapshot of this resource."""
    if not snapshot_at:
        return
    from backend.core.timefmt import parse_ts

    at = parse_ts(snapshot_at)
    if at is None:
        return
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        cursors = dict(locked.reconcile_cursors or {})
        cursors[stage] = (at - CURSOR_MARGIN).isoformat()
        locked.reconcile_cursors = cursors
        locked.save(update_fields=["reconcile_cursors"])
        shop.reconcile_cursors = cursors


__all__ = ["start_full_sync", "run_sync", "on_bulk_operation_finished", "current_run", "IntegrationError"]
