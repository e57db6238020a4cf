"""A bulk operation's JSONL result, copied to a local file and read back one family at a time, in any line order.

From API 2026-01 Shopify writes bulk output ungrouped by default: a child line (variant, inventory level, line item)
may be anywhere in the file, before its parent or far after it. The upserts take a parent's child list as complete
(a child missing from it was deleted on Shopify), and which children a parent has is known only at the end of the
file. So the file is downloaded once to a temporary file while noting, per line, where it starts, its own id and its
`__parentId`; then lines are sorted into families (a root object and all its descendants) and read back family by
family, in the order of their root lines. Memory: a few integers per line in numpy arrays (about 50 MB at their peak
for 800,000 lines, while sorting); the lines themselves stay on disk (the OS page cache, not this process).
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from array import array
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import orjson

from integrations.base.errors import ServerError, TransportError

from .client import ShopifyClient
from .records import gid_type

logger = logging.getLogger("personalize.shopify.sync")

DOWNLOAD_ATTEMPTS = 4  # a download that breaks off continues from the last whole line (Range, or skipping)
LOOKUP_CHUNK = 1 << 16
MAX_DEPTH = 4  # products > variants > inventory levels is Shopify's deepest (two nested connections)
NONE = -1
_DIGEST_BIT = 1 << 62  # packed numeric keys stay below it: a tail under 10**16 shifted by 6 bits
_DIGEST_MASK = _DIGEST_BIT - 1


class GidKeys:
    """A GID → an int64 key, without holding the GIDs: numeric tail and type code packed (exact); ids that do not
    end in a number (inventory levels: ".../InventoryLevel/1?inventory_item_id=2") by a 62-bit BLAKE2 digest."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}

    def __call__(self, gid: Any) -> int:
        if not gid:
            return NONE
        text = str(gid)
        kind, _, tail = text.rpartition("/")
        if tail.isdigit() and len(tail) < 17:
            code = self.types.get(kind)
            if code is None and len(self.types) < 63:
                code = self.types[kind] = len(self.types) + 1
            if code is not None:
                return (int(tail) << 6) | code
        digest = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        return (digest & _DIGEST_MASK) | _DIGEST_BIT


class BulkFile:
    """One downloaded result: `families` families, readable from any family number on (a resumed stage)."""

    def __init__(self, url: str = "") -> None:
        self.url = url
        self.spool: IO[bytes] = tempfile.TemporaryFile(prefix="shopify-bulk-")  # noqa: SIM115 - closed in close()
        self.lines = 0
        self.families = 0
        self.orphans = 0  # lines whose parent is nowhere in the file
        self.duplicates = 0  # repeated root lines (the first is applied)
        self._starts: np.ndarray = np.zeros(1, dtype=np.int64)
        self._order: np.ndarray = np.zeros(0, dtype=np.int32)
        self._bounds: np.ndarray = np.zeros(1, dtype=np.int64)

    def __enter__(self) -> BulkFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.spool.close()

    # --- download and index -----------------------------------------------------------------------------------

    @classmethod
    def download(cls, client: ShopifyClient, url: str, *, stop: Any = None) -> BulkFile:
        """Copy the result to a local file and sort its lines into families."""
        bulk = cls(url)
        try:
            bulk._download(client, url, stop)
        except BaseException:
            bulk.close()
            raise
        return bulk

    def _download(self, client: ShopifyClient, url: str, stop: Any) -> None:
        keys = GidKeys()
        starts, own, parent = array("q"), array("q"), array("q")
        alias_keys, alias_lines = array("q"), array("i")
        write = self.spool.write
        written = remote = 0
        attempt, failed_at = 0, -1
        while True:
            lines = client.stream_lines(url, start=remote)
            try:
                for raw, end in lines:
                    remote = end
                    if not raw.strip():
                        continue
                    row = orjson.loads(raw)
                    n = len(starts)
                    starts.append(written)
                    write(raw)
                    write(b"\n")
                    written += len(raw) + 1
                    own.append(keys(row.get("id")))
                    parent.append(keys(row.get("__parentId")))
                    item = row.get("inventoryItem")
                    if item.__class__ is dict and item.get("id"):
                        # Levels may name the variant's inventory item as their parent instead of the variant.
                        alias_keys.append(keys(item["id"]))
                        alias_lines.append(n)
                    if stop is not None and n % 4096 == 0 and stop.is_set():
                        return
                break
            except (TransportError, ServerError):
                # Attempts count failures in a row: a long file over a flaky link may break many times, each
                # time further on; only a download that stops making progress gives up (and the task retries).
                attempt = 1 if remote > failed_at else attempt + 1
                failed_at = remote
                if attempt >= DOWNLOAD_ATTEMPTS:
                    raise
                logger.warning("bulk result download broke off at byte %s; continuing (attempt %s)", remote, attempt)
                time.sleep(min(0.2 * 2 ** attempt, 2.0))
            finally:
                lines.close()
        starts.append(written)
        self.spool.flush()
        self.lines = len(own)
        self._starts = np.frombuffer(starts, dtype=np.int64)  # a view: `starts` is not appended to any more
        self._resolve(np.frombuffer(own, dtype=np.int64), np.frombuffer(parent, dtype=np.int64),
                      np.frombuffer(alias_keys, dtype=np.int64), np.frombuffer(alias_lines, dtype=np.int32))

    def _resolve(self, own: np.ndarray, parent: np.ndarray, alias_keys: np.ndarray, alias_lines: np.ndarray) -> None:
        """Each line's family (the line number of its root object's first line), then lines sorted by family.
        Temporaries are int32 where they hold line numbers and lookups go in chunks: the peak stays near 30 bytes
        a line on top of the 24 the download holds."""
        n = len(own)
        table_keys = np.concatenate([own, alias_keys])
        by_key = np.argsort(table_keys, kind="stable").astype(np.int32)  # equal keys: the earliest line first
        table_keys = table_keys[by_key]
        aliased = by_key >= n
        by_key[aliased] = alias_lines[by_key[aliased] - n]
        del aliased
        is_root = parent == NONE
        # A root's family is the first line with its id (a repeated root line joins the first one's family);
        # a child's is, for now, its parent's line.
        family = _lines_of(table_keys, by_key, own, parent, is_root)
        del table_keys, by_key
        lone = is_root & (family == NONE)  # a root without an id: its own family
        family[lone] = np.flatnonzero(lone)
        self.duplicates = int(np.count_nonzero(is_root & (family != np.arange(n, dtype=np.int32))))
        for _ in range(MAX_DEPTH):
            pointed = np.flatnonzero(family != NONE)
            target = family[pointed]
            nxt = np.where(is_root[target], target, family[target])
            if np.array_equal(nxt, target):
                break
            family[pointed] = nxt
        else:
            family[(family != NONE) & ~is_root[np.maximum(family, 0)]] = NONE  # a cycle: nothing to hang on to
        kept = np.flatnonzero(family != NONE).astype(np.int32)
        self.orphans = n - len(kept)
        fam = family[kept]
        del family
        order = np.argsort(fam, kind="stable")  # by family (its root's first line), file order within it
        self._order = kept[order]  # int32
        sorted_fam = fam[order]
        del order, fam, kept
        if len(sorted_fam):
            cuts = np.flatnonzero(sorted_fam[1:] != sorted_fam[:-1]) + 1
            self._bounds = np.concatenate([[0], cuts, [len(sorted_fam)]]).astype(np.int64)
        else:
            self._bounds = np.zeros(1, dtype=np.int64)
        self.families = len(self._bounds) - 1
        if self.orphans:
            logger.warning("bulk result: %s lines name a parent that is not in the file", self.orphans)

    # --- read back --------------------------------------------------------------------------------------------

    def read(self, first: int = 0) -> Iterator[tuple[int, list[bytes]]]:
        """(family number, its lines in file order) for every family from `first` on."""
        fd = self.spool.fileno()
        starts, order, bounds = self._starts, self._order, self._bounds
        for f in range(first, self.families):
            out = []
            for line in order[bounds[f]:bounds[f + 1]].tolist():
                begin = int(starts[line])
                out.append(os.pread(fd, int(starts[line + 1]) - begin - 1, begin))
            yield f, out

    def lines_before(self, family: int) -> int:
        """How many lines the families before `family` hold (the stage's progress at that checkpoint)."""
        return int(self._bounds[min(family, self.families)])


def _lines_of(table_keys: np.ndarray, table_lines: np.ndarray, own: np.ndarray, parent: np.ndarray,
              is_root: np.ndarray) -> np.ndarray:
    """Per line, the line holding the id it hangs on (its own id for a root, its parent's for a child), or NONE;
    looked up in the sorted table a chunk at a time."""
    out = np.empty(len(own), dtype=np.int32)
    size = len(table_keys)
    for a in range(0, len(own), LOOKUP_CHUNK):
        b = a + LOOKUP_CHUNK
        wanted = np.where(is_root[a:b], own[a:b], parent[a:b])
        pos = np.searchsorted(table_keys, wanted)
        pos[pos >= size] = 0
        hit = (table_keys[pos] == wanted) & (wanted != NONE) if size else np.zeros(len(wanted), dtype=bool)
        out[a:b] = np.where(hit, table_lines[pos] if size else NONE, NONE)
    return out


def regroup(lines: list[bytes], child_keys: dict[str, str], child_lists: tuple[str, ...]) -> tuple[dict | None, int]:
    """One family's lines → its root node with children nested under their connection's key (lists), and the
    count of lines that could not be placed. Nested children (inventory levels) may come before their parent."""
    rows = [orjson.loads(raw) for raw in lines]
    root = None
    pending = []
    for row in rows:
        if "__parentId" in row:
            pending.append(row)
        elif root is None:
            root = row
    if root is None:
        return None, len(pending)
    for key in child_lists:
        root.setdefault(key, [])
    index = {root.get("id"): root}
    for _ in range(MAX_DEPTH):
        later = []
        for row in pending:
            holder = index.get(row["__parentId"])
            if holder is None:
                later.append(row)
                continue
            del row["__parentId"]
            gid = str(row.get("id") or "")
            kind = gid_type(gid)
            holder.setdefault(child_keys.get(kind, kind or "children"), []).append(row)
            if kind == "ProductVariant":
                row.setdefault("inventoryLevels", [])
                index[gid] = row
                item = (row.get("inventoryItem") or {}).get("id")
                if item:
                    index[item] = row
        if not later or len(later) == len(pending):
            pending = later
            break
        pending = later
    return root, len(pending)
