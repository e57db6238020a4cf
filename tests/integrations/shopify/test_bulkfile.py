"""The bulk result reader on its own, over real HTTP: families come out whole whatever the line order, a line whose
parent is not in the file is counted, and a download that breaks off continues where it stopped."""
from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.shopify.bulkfile import BulkFile, regroup
from integrations.shopify.client import ShopifyClient
from integrations.shopify.sync import CHILD_KEYS, CHILD_LISTS

pytestmark = pytest.mark.django_db


def product_lines(products: int, variants: int = 3) -> list[dict]:
    """A grouped products file as Shopify writes it: product, its collection, each variant then its two levels
    (naming the variant as their parent, or its inventory item, as Shopify may)."""
    rows: list[dict] = []
    for p in range(products):
        pid = f"gid://shopify/Product/{1000 + p}"
        rows.append({"id": pid, "title": f"P{p}"})
        rows.append({"id": f"gid://shopify/Collection/{7 + p % 3}", "__parentId": pid})
        for v in range(variants):
            vid = f"gid://shopify/ProductVariant/{50_000 + p * 10 + v}"
            item = f"gid://shopify/InventoryItem/{90_000 + p * 10 + v}"
            rows.append({"id": vid, "sku": f"S{p}-{v}", "inventoryItem": {"id": item}, "__parentId": pid})
            for loc in (1, 2):
                rows.append({"id": f"gid://shopify/InventoryLevel/{loc}?inventory_item_id={90_000 + p * 10 + v}",
                             "location": {"id": f"gid://shopify/Location/{loc}"},
                             "__parentId": vid if loc == 1 else item})
    return rows


@contextmanager
def serve(body: bytes, *, break_first_at: int | None = None,
          script: list[str] | None = None) -> Iterator[tuple[str, list[dict]]]:
    """A file server honouring Range; optionally the first response stops after `break_first_at` bytes, or each
    response follows `script` in turn: "break" (drops after a fifth of what is left), "503", "reset" (closes before
    answering), then whole answers."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            start = int((self.headers.get("Range") or "bytes=0-")[6:].rstrip("-") or 0)
            requests.append({"range": self.headers.get("Range")})
            part = body[start:]
            step = script[len(requests) - 1] if script and len(requests) <= len(script) else "ok"
            if step == "reset":
                self.connection.shutdown(2)
                return
            if step == "503":
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if step == "break":
                break_at = max(1, len(part) // 5)
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if step == "break" or (break_first_at is not None and len(requests) == 1):
                self.wfile.write(part[:break_at if step == "break" else break_first_at])
                self.wfile.flush()
                self.connection.shutdown(2)  # the connection drops mid-file
                return
            self.wfile.write(part)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/result.jsonl", requests
    finally:
        server.shutdown()
        server.server_close()


def encode(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def families(shop, body: bytes, **kwargs) -> tuple[BulkFile, list[dict], int]:
    with serve(body, **kwargs) as (url, _), ShopifyClient(shop) as client:
        bulk = BulkFile.download(client, url)
    with bulk:
        nodes, unplaced = [], 0
        for _, lines in bulk.read():
            node, lost = regroup(lines, CHILD_KEYS, CHILD_LISTS["products"])
            nodes.append(node)
            unplaced += lost
    return bulk, nodes, unplaced


def assert_whole(nodes: list[dict], products: int) -> None:
    assert sorted(n["title"] for n in nodes) == sorted(f"P{p}" for p in range(products))
    for node in nodes:
        assert len(node["variants"]) == 3 and len(node["collections"]) == 1
        for variant in node["variants"]:
            assert sorted(lv["location"]["id"][-1] for lv in variant["inventoryLevels"]) == ["1", "2"]


@pytest.mark.parametrize("order", ["grouped", "reversed", "shuffled"])
def test_every_family_comes_out_whole_in_any_line_order(shop, order):
    rows = product_lines(40)
    if order == "reversed":  # every child before its parent, every level before its variant
        rows.reverse()
    elif order == "shuffled":
        random.Random(3).shuffle(rows)
    bulk, nodes, unplaced = families(shop, encode(rows))
    assert bulk.lines == len(rows) and bulk.families == 40 and bulk.orphans == 0 and unplaced == 0
    assert_whole(nodes, 40)
    if order == "grouped":  # families in the order of their root lines: resuming at family N is well defined
        assert [n["title"] for n in nodes] == [f"P{p}" for p in range(40)]


def test_a_line_whose_parent_is_not_in_the_file_is_counted_not_applied(shop):
    rows = product_lines(5)
    rows.insert(3, {"id": "gid://shopify/ProductVariant/1", "__parentId": "gid://shopify/Product/999999"})
    rows.insert(9, {"id": "gid://shopify/InventoryLevel/1?inventory_item_id=5",
                    "__parentId": "gid://shopify/ProductVariant/1"})  # its parent is itself an orphan
    bulk, nodes, unplaced = families(shop, encode(rows))
    assert bulk.orphans == 2 and unplaced == 0
    assert_whole(nodes, 5)


def test_a_repeated_root_line_joins_the_first_ones_family(shop):
    rows = product_lines(3)
    rows.append({"id": "gid://shopify/Product/1001", "title": "P1"})
    bulk, nodes, _ = families(shop, encode(rows))
    assert bulk.families == 3 and bulk.duplicates == 1
    assert_whole(nodes, 3)


def test_a_download_that_breaks_off_continues_from_the_last_whole_line(shop):
    rows = product_lines(300)  # a few hundred KB: several network chunks arrive before the break
    random.Random(5).shuffle(rows)
    body = encode(rows)
    with serve(body, break_first_at=len(body) // 2 + 7) as (url, requests), ShopifyClient(shop) as client:
        bulk = BulkFile.download(client, url)
    with bulk:
        assert bulk.lines == len(rows) and bulk.orphans == 0
        assert [r["range"] for r in requests][0] is None and requests[1]["range"].startswith("bytes=")
        assert_whole([regroup(lines, CHILD_KEYS, CHILD_LISTS["products"])[0] for _, lines in bulk.read()], 300)


def test_a_download_that_breaks_often_but_keeps_progressing_completes(shop):
    """More breaks than the attempt budget, a refused connection and a 503 among them: each one moves on, so the
    file comes out whole; only failures in a row with no progress would give up."""
    rows = product_lines(300)
    body = encode(rows)
    script = ["break", "503", "break", "reset", "break", "break", "503", "break", "break"]
    with serve(body, script=script) as (url, requests), ShopifyClient(shop) as client:
        bulk = BulkFile.download(client, url)
    with bulk:
        assert len(requests) == len(script) + 1
        assert bulk.lines == len(rows) and bulk.orphans == 0
        assert_whole([regroup(lines, CHILD_KEYS, CHILD_LISTS["products"])[0] for _, lines in bulk.read()], 300)


def test_a_download_that_never_progresses_gives_up_with_a_retryable_error(shop):
    from integrations.base.errors import IntegrationError

    with (serve(encode(product_lines(5)), script=["503"] * 10) as (url, requests), ShopifyClient(shop) as client,
          pytest.raises(IntegrationError) as failed):
        BulkFile.download(client, url)
    assert failed.value.retryable and len(requests) == 4


def test_an_empty_result_has_no_families(shop):
    bulk, nodes, unplaced = families(shop, b"")
    assert (bulk.lines, bulk.families, bulk.orphans, nodes, unplaced) == (0, 0, 0, [], 0)
