"""The Admin GraphQL endpoint: authentication, scopes, validation, cost + leaky bucket, execution.

Execution is graphql-core's over the schema built from Shopify's SDL, with one field resolver: root fields are
served from the shop's `Store`; every other field reads the GraphQL-shaped dict built by the store (a callable
value is called with the field's arguments), and any `...Connection` field paginates the list it gets
(first/after/last/before/reverse, opaque cursors). Root connections (products, customers, orders, collections,
locations) also take `query` (Shopify search syntax: `updated_at:>'2025-01-01T00:00:00Z' AND id:>123`, on
updated_at, created_at and id) and `sortKey` (ID, UPDATED_AT, CREATED_AT).
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from graphql import GraphQLError, GraphQLResolveInfo, execute, get_named_type

from .schema import (
    LATEST_VERSION,
    MAX_QUERY_COST,
    CostCalculator,
    is_2026,
    load_schema,
    operation_of,
    parse_and_validate,
)
from .store import CUSTOMER_BASE, LOCATIONS, ORDER_BASE, PRODUCT_BASE, Store, gid

if TYPE_CHECKING:
    from .standin import ShopState

MAX_PAGE = 250
RATE_LIMIT_DOC = "https://shopify.dev/api/usage/rate-limits"

# Which access scope a root field needs (write_X implies read_X).
ROOT_SCOPES = {
    "products": "read_products", "product": "read_products", "productVariant": "read_products",
    "collections": "read_products", "collection": "read_products",
    "inventoryItem": "read_inventory", "inventoryLevel": "read_inventory",
    "customers": "read_customers", "customer": "read_customers",
    "orders": "read_orders", "order": "read_orders",
    "locations": "read_locations", "location": "read_locations",
}


def has_scope(granted: set[str], needed: str) -> bool:
    return needed in granted or needed.replace("read_", "write_") in granted


class LeakyBucket:
    """Shopify's cost bucket for one app on one shop: refills continuously at restore_rate points per second."""

    def __init__(self, maximum: float = 1000.0, restore_rate: float = 50.0) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self.available = float(maximum)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.stamp) * self.restore_rate)
        self.stamp = now

    def take(self, cost: int) -> bool:
        with self.lock:
            self._refill()
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def refund(self, points: float) -> None:
        with self.lock:
            self._refill()
            self.available = min(self.maximum, self.available + max(points, 0))

    def status(self) -> dict[str, float]:
        with self.lock:
            self._refill()
            return {"maximumAvailable": self.maximum, "currentlyAvailable": round(self.available, 1),
                    "restoreRate": self.restore_rate}


# ------------------------------------------------------------------------------------------- cursors and paging
def encode_cursor(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"}) from exc
    if not isinstance(value, list) or len(value) != 2:
        raise GraphQLError("Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"})
    return value


def _page_size(args: dict[str, Any]) -> tuple[int, bool]:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    if first is not None and last is not None:
        raise GraphQLError("providing both first and last is not supported", extensions={"code": "BAD_REQUEST"})
    n = first if first is not None else last
    if n < 0 or n > MAX_PAGE:
        raise GraphQLError(f"The maximum number of items requested per page is {MAX_PAGE}, got {n}",
                           extensions={"code": "BAD_REQUEST"})
    return n, last is not None


def paginate_list(items: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    """A nested connection over a plain list (variants of a product, line items of an order...)."""
    n, backwards = _page_size(args)
    order = list(range(len(items)))
    if args.get("reverse"):
        order.reverse()
    start, stop = 0, len(order)
    if args.get("after"):
        pos = decode_cursor(args["after"])[1]
        start = next((k + 1 for k, i in enumerate(order) if i == pos), len(order))
    if args.get("before"):
        pos = decode_cursor(args["before"])[1]
        stop = next((k for k, i in enumerate(order) if i == pos), stop)
    window = order[start:stop]
    page = window[-n:] if backwards else window[:n]
    edges = [{"cursor": encode_cursor(["i", i]), "node": items[i]} for i in page]
    more_after = (page[-1] != window[-1]) if page else False
    more_before = (page[0] != window[0]) if page else False
    return _connection(edges, more_after or (stop < len(order)), more_before or start > 0)


def _connection(edges: list[dict[str, Any]], has_next: bool, has_previous: bool) -> dict[str, Any]:
    return {"edges": edges, "nodes": [e["node"] for e in edges],
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous,
                         "startCursor": edges[0]["cursor"] if edges else None,
                         "endCursor": edges[-1]["cursor"] if edges else None}}


# ------------------------------------------------------------------------------------------- search syntax
_TERM = re.compile(r"""(?P<field>[a-z_]+):(?P<op><=|>=|<|>|=)?(?P<value>'[^']*'|"[^"]*"|\S+)""")
_SEARCH_FIELDS = {"updated_at", "created_at", "id"}


def _parse_time(value: str) -> int:
    value = value.strip().strip("'\"")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Invalid date in search query: {value}", extensions={"code": "BAD_REQUEST"}) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def parse_search(query: str | None) -> tuple[list[tuple[str, str, int]], list[dict[str, Any]]]:
    """Terms (field, op, value) joined by AND, plus Shopify-style warnings for terms it ignores."""
    if not query:
        return [], []
    terms, warnings = [], []
    rest = _TERM.sub(" ", query)
    for m in _TERM.finditer(query):
        field, op, value = m.group("field"), m.group("op") or "=", m.group("value")
        if field not in _SEARCH_FIELDS:
            warnings.append({"field": field, "message": "Invalid search field for this query."})
            continue
        if field == "id":
            try:
                v = int(value.strip("'\"").rsplit("/", 1)[-1])
            except ValueError:
                warnings.append({"field": field, "message": "Invalid id value."})
                continue
        else:
            v = _parse_time(value)
        terms.append((field, op, v))
    leftover = [w for w in rest.split() if w.upper() not in ("AND",)]
    if leftover:
        warnings.append({"field": "default", "message": f"Free-text search is not supported by the stand-in: "
                         f"{' '.join(leftover)[:60]}"})
    return terms, warnings


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "=": np.equal}


def root_connection(store: Store, kind: str, args: dict[str, Any], info: GraphQLResolveInfo | None,
                    builder: Any = None) -> dict[str, Any]:
    """products / customers / orders with query filter, sort key, reverse and cursors over (key, index)."""
    n, backwards = _page_size(args)
    terms, warnings = parse_search(args.get("query"))
    if warnings and info is not None:
        info.context.setdefault("search_warnings", []).extend(warnings)
    idx, key = select_indexes(store, kind, terms, args.get("sortKey") or "ID", bool(args.get("reverse")))
    start_mask = np.ones(len(idx), bool)
    rev = bool(args.get("reverse"))
    for arg_name, after in (("after", True), ("before", False)):
        if args.get(arg_name):
            c = decode_cursor(args[arg_name])
            ck, ci = int(c[0]), int(c[1])
            greater = (key > ck) | ((key == ck) & (idx > ci))
            less = (key < ck) | ((key == ck) & (idx < ci))
            start_mask &= (greater if after != rev else less)
    pos = np.nonzero(start_mask)[0]
    page_pos = pos[-n:] if backwards else pos[:n]
    build = builder or store.get
    edges = []
    for p in page_pos.tolist():
        i = int(idx[p])
        edges.append({"cursor": encode_cursor([int(key[p]), i]), "node": build(kind, i)})
    has_next = bool(len(pos) and len(page_pos) and pos[-1] != page_pos[-1])
    has_prev = bool(len(page_pos) and page_pos[0] != 0)
    return _connection(edges, has_next, has_prev)


def select_indexes(store: Store, kind: str, terms: list[tuple[str, str, int]], sort_key: str,
                   reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Matching indexes in sort order and their sort keys (the cursor compares (key, index))."""
    base = {"products": PRODUCT_BASE, "customers": CUSTOMER_BASE, "orders": ORDER_BASE}[kind]
    count = store.count(kind)
    idx = np.arange(count, dtype=np.int64)
    updated = created = None
    mask = np.ones(count, bool)
    if kind == "products" and store.deleted_products:
        mask[list(store.deleted_products)] = False
    for field, op, value in terms:
        if field == "updated_at":
            updated = store.updated_column(kind) if updated is None else updated
            mask &= _OPS[op](updated, value)
        elif field == "created_at":
            created = store.created_column(kind) if created is None else created
            mask &= _OPS[op](created, value)
        else:
            mask &= _OPS[op](idx + base, value)
    sort_key = sort_key.upper()
    if sort_key == "UPDATED_AT":
        key = store.updated_column(kind) if updated is None else updated
    elif sort_key in ("CREATED_AT", "PROCESSED_AT"):
        key = store.created_column(kind) if created is None else created
    else:
        key = idx  # ID and anything else: by id
    idx, key = idx[mask], key[mask]
    order = np.lexsort((idx, key))
    if reverse:
        order = order[::-1]
    return idx[order], key[order]


# ------------------------------------------------------------------------------------------- resolvers
def _node_for_gid(state: ShopState, value: str) -> dict[str, Any] | None:
    store = state.store
    if value.startswith("gid://shopify/BulkOperation/"):
        op = state.bulk.get(value)
        return op.as_graphql() if op else None
    if value.startswith("gid://shopify/InventoryLevel/"):
        m = re.match(r"gid://shopify/InventoryLevel/(\d+)\?inventory_item_id=(\d+)", value)
        if not m:
            return None
        loc = next((k for k, loc in enumerate(LOCATIONS) if loc[0] == int(m.group(1))), None)
        hit = store.index_from_gid(gid("InventoryItem", m.group(2)))
        if loc is None or not hit or not (0 <= hit[1] < store.n_variants):
            return None
        return store.inventory_level(hit[1], loc)
    hit = store.index_from_gid(value)
    if not hit:
        return None
    kind, i = hit
    if kind == "Product":
        return store.product(i) if store.valid_index("products", i) else None
    if kind == "ProductVariant":
        ok = 0 <= i < store.n_variants and int(store.v_product[i]) not in store.deleted_products
        return store.variant(i) if ok else None
    if kind == "InventoryItem":
        return store.inventory_item(i) if 0 <= i < store.n_variants else None
    if kind == "Customer":
        return store.customer(i) if store.valid_index("customers", i) else None
    if kind == "Order":
        return store.order(i) if store.valid_index("orders", i) else None
    if kind == "Collection":
        return store.collection(i) if 0 <= i < store.collection_count else None
    if kind == "Location":
        return store.location(i) if 0 <= i < len(LOCATIONS) else None
    return None


def _require(info: GraphQLResolveInfo, field: str) -> None:
    needed = ROOT_SCOPES.get(field)
    if needed and not has_scope(info.context["scopes"], needed):
        raise GraphQLError(f"Access denied for {field} field. Required access: `{needed}` access scope.",
                           extensions={"code": "ACCESS_DENIED", "documentation":
                                       "https://shopify.dev/api/usage/access-scopes",
                                       "requiredAccess": f"`{needed}` access scope."})


_NODE_SCOPES = {"Product": "product", "ProductVariant": "productVariant", "Collection": "collection",
                "InventoryItem": "inventoryItem", "InventoryLevel": "inventoryLevel", "Customer": "customer",
                "Order": "order", "Location": "location"}


def _require_for_node(info: GraphQLResolveInfo, node: Any) -> None:
    """node(id:) needs the same access scope as the typed root field for that object."""
    if node is not None:
        field = _NODE_SCOPES.get(node.get("__typename"))
        if field:
            _require(info, field)


def _resolve_query_root(state: ShopState, info: GraphQLResolveInfo, args: dict[str, Any]) -> Any:
    name = info.field_name
    store = state.store
    _require(info, name)
    if name == "shop":
        return store.shop()
    if name in ("products", "customers", "orders"):
        return root_connection(store, name, args, info)
    if name == "collections":
        return paginate_list([store.collection(k) for k in range(store.collection_count)], args)
    if name == "locations":
        return paginate_list([store.location(k) for k in range(len(LOCATIONS))], args)
    if name in ("node", "product", "productVariant", "customer", "order", "collection", "inventoryItem",
                "inventoryLevel", "location"):
        if name == "location" and not args.get("id"):
            return store.location(0)
        node = _node_for_gid(state, args["id"])
        _require_for_node(info, node)
        expected = {"product": "Product", "productVariant": "ProductVariant", "customer": "Customer",
                    "order": "Order", "collection": "Collection", "inventoryItem": "InventoryItem",
                    "inventoryLevel": "InventoryLevel", "location": "Location"}.get(name)
        if node is not None and expected and node.get("__typename") != expected:
            return None
        return node
    if name == "nodes":
        nodes = [_node_for_gid(state, i) for i in args.get("ids", [])]
        for node in nodes:
            _require_for_node(info, node)
        return nodes
    if name == "currentAppInstallation":
        return {"id": APP_INSTALLATION_GID, "metafields": [
            {"namespace": ns, "key": key, **mf} for (ns, key), mf in state.app_metafields.items()],
            # What the calling token was granted: how an app learns its scopes from Shopify itself.
            "accessScopes": [{"handle": s, "description": f"Allows {s.replace('_', ' ', 1)}"}
                             for s in sorted(info.context["scopes"])]}
    if name == "currentBulkOperation":
        op = state.bulk.current(args.get("type") or "QUERY")
        return op.as_graphql() if op else None
    if name == "bulkOperation":
        op = state.bulk.get(args["id"])
        return op.as_graphql() if op else None
    if name == "bulkOperations":
        return paginate_list(state.bulk.listed(args.get("query"), args.get("sortKey") or "CREATED_AT",
                                               bool(args.get("reverse"))), args)
    raise GraphQLError(f"The stand-in does not implement the field {name}.", extensions={"code": "NOT_IMPLEMENTED"})


def _resolve_mutation_root(state: ShopState, info: GraphQLResolveInfo, args: dict[str, Any]) -> Any:
    name = info.field_name
    if name == "bulkOperationRunQuery":
        # Before 2026-01 the output is always grouped (the argument does not exist); from 2026-01 only on request.
        version = info.context["version"]
        return state.bulk.run_query(args["query"], info.context["scopes"], version,
                                    grouped=bool(args.get("groupObjects")) or not is_2026(version))
    if name == "bulkOperationCancel":
        return state.bulk.cancel(args["id"])
    if name in DISCOUNT_MUTATIONS:
        return create_code_discount(state, info, name, args[DISCOUNT_MUTATIONS[name]])
    if name == "metafieldsSet":
        return set_metafields(state, args["metafields"], info.context["version"])
    if name == "flowTriggerReceive":
        return flow_trigger_receive(state, args.get("handle"), args.get("payload"))
    if name in ("tagsAdd", "tagsRemove"):
        return change_tags(state, info, name, str(args["id"]), list(args["tags"]))
    raise GraphQLError(f"The stand-in does not implement the mutation {name}.",
                       extensions={"code": "NOT_IMPLEMENTED"})


FLOW_TRIGGER_DIRS = Path(__file__).resolve().parents[3] / "integrations" / "shopify" / "flow"
FLOW_REFERENCE_KEYS = {"customer_reference": "customer_id", "order_reference": "order_id",
                       "product_reference": "product_id"}
FLOW_PAYLOAD_MAX = 50_000


def flow_trigger_fields(handle: str) -> dict[str, str] | None:
    """The payload keys (→ field type) of the app's deployed flow_trigger extension with this handle, or None."""
    for toml_path in FLOW_TRIGGER_DIRS.glob("*/shopify.extension.toml"):
        with open(toml_path, "rb") as fh:
            config = tomllib.load(fh)
        for ext in config.get("extensions", []):
            if ext.get("type") == "flow_trigger" and ext.get("handle") == handle:
                return {FLOW_REFERENCE_KEYS.get(f["type"], f.get("key", "")): f["type"]
                        for f in config.get("settings", {}).get("fields", [])}
    return None


def flow_trigger_receive(state: ShopState, handle: Any, payload: Any) -> dict[str, Any]:
    """Flow's checks: a trigger this app deployed, a payload with exactly its fields, of their types, under 50 KB."""
    fields = flow_trigger_fields(str(handle or ""))
    if fields is None:
        return {"userErrors": [{"field": ["handle"], "message": f"Trigger '{handle}' not found"}]}
    if not isinstance(payload, dict):
        return {"userErrors": [{"field": ["payload"], "message": "Payload must be an object"}]}
    if len(json.dumps(payload)) > FLOW_PAYLOAD_MAX:
        return {"userErrors": [{"field": ["payload"], "message": "Payload exceeds 50KB"}]}
    if set(payload) != set(fields):
        return {"userErrors": [{"field": ["payload"], "message": f"Payload keys {sorted(payload)} do not match "
                                                                   f"the trigger's {sorted(fields)}"}]}
    for key, kind in fields.items():
        value = payload[key]
        if (kind.endswith("_reference") or kind == "number_integer") and not isinstance(value, int):
            return {"userErrors": [{"field": ["payload", key], "message": f"{key} must be an integer"}]}
        if kind == "single_line_text_field" and not isinstance(value, str):
            return {"userErrors": [{"field": ["payload", key], "message": f"{key} must be a string"}]}
    state.flow_triggers.append((str(handle), payload))
    return {"userErrors": []}


# tagsAdd / tagsRemove: the write scope each taggable type needs (the stand-in stores tags on customers only).
TAG_SCOPES = {"Customer": "write_customers", "Order": "write_orders", "DraftOrder": "write_draft_orders",
              "Product": "write_products", "Article": "write_content", "DiscountNode": "write_discounts"}
TAG_MAX_LENGTH = 255
TAGS_PER_RESOURCE = 250


def split_tags(values: list[Any]) -> list[str]:
    """Shopify reads each string as a comma-separated list: "a, b" is two tags; blanks are dropped."""
    return [t for value in values for t in (part.strip() for part in str(value).split(",")) if t]


def _tag_error(field: list[str], message: str) -> dict[str, Any]:
    return {"node": None, "userErrors": [{"field": field, "message": message}]}


def change_tags(state: ShopState, info: GraphQLResolveInfo, name: str, target: str, raw: list[Any]) -> Any:
    """tagsAdd / tagsRemove as documented: the id's type decides the write scope (ACCESS_DENIED without it, as
    for any field); an id of no taggable resource, or of none that exists, is a userError on `id`; every string
    is split on commas and trimmed; a tag is at most 255 characters and a resource holds at most 250. Tags
    compare case-insensitively (adding "VIP" to "vip" changes nothing; removing "VIP" removes "vip")."""
    hit = state.store.index_from_gid(target)
    kind = hit[0] if hit else (target.split("/")[3] if target.count("/") >= 4 else "")
    needed = TAG_SCOPES.get(kind)
    if needed and not has_scope(info.context["scopes"], needed):
        raise GraphQLError(f"Access denied for {name} field. Required access: `{needed}` access scope.",
                           extensions={"code": "ACCESS_DENIED", "documentation":
                                       "https://shopify.dev/api/usage/access-scopes",
                                       "requiredAccess": f"`{needed}` access scope."})
    if kind in TAG_SCOPES and kind != "Customer":
        raise GraphQLError(f"The stand-in does not keep tags on {kind}.", extensions={"code": "NOT_IMPLEMENTED"})
    store = state.store
    if kind != "Customer" or not hit or not store.valid_index("customers", hit[1]) \
            or store.customer_fields(hit[1]).get("redacted"):
        return _tag_error(["id"], "Resource not found")
    tags = split_tags(raw)
    if not tags:
        return _tag_error(["tags"], "Tags can't be blank")
    if any(len(t) > TAG_MAX_LENGTH for t in tags):
        return _tag_error(["tags"], f"Tags is too long (maximum is {TAG_MAX_LENGTH} characters)")
    c = hit[1]
    with store.lock:  # read-modify-write of one customer's tags: two mutations at once must not lose one
        current = list(store.customer_fields(c)["tags"])
        lowered = {t.lower() for t in current}
        if name == "tagsAdd":
            fresh = []
            for t in tags:  # the first spelling of each new tag wins, within the request too
                if t.lower() not in lowered:
                    lowered.add(t.lower())
                    fresh.append(t)
            if len(current) + len(fresh) > TAGS_PER_RESOURCE:
                return _tag_error(["tags"], f"Tags cannot be more than {TAGS_PER_RESOURCE}")
            updated = current + fresh
        else:
            gone = {t.lower() for t in tags}
            updated = [t for t in current if t.lower() not in gone]
        changed = updated != current
        if changed:
            store.update_customer(c, tags=updated)
    if changed and state.on_customer_changed is not None:
        state.on_customer_changed(c)  # Shopify sends customers/update when the tags change
    return {"node": store.customer(c), "userErrors": []}


APP_INSTALLATION_GID = gid("AppInstallation", 1)
METAFIELD_TYPES = {"single_line_text_field", "multi_line_text_field", "json", "boolean", "number_integer", "url"}


METAFIELD_MAX_2026_04 = 16 * 1024  # bytes of one value, from API 2026-04


def set_metafields(state: ShopState, inputs: list[dict[str, Any]], version: str = LATEST_VERSION) -> dict[str, Any]:
    """metafieldsSet as documented: at most 25 at once, all or nothing; an app may write its own installation's
    metafields without an extra scope, other owners are out of this stand-in's reach (so refused); from 2026-04 a
    value may not exceed 16 KB."""
    errors = []
    if len(inputs) > 25:
        errors.append({"field": ["metafields"], "code": "LESS_THAN_OR_EQUAL_TO",
                       "message": "Exceeded the maximum metafields input limit of 25."})
    for i, mf in enumerate(inputs):
        where = ["metafields", str(i)]
        if mf.get("ownerId") != APP_INSTALLATION_GID:
            errors.append({"field": [*where, "ownerId"], "code": "INVALID", "message": "Owner does not exist."})
        if not 3 <= len(mf.get("namespace") or "") <= 255:
            errors.append({"field": [*where, "namespace"], "code": "INVALID", "message": "Namespace is too short."})
        if not 2 <= len(mf.get("key") or "") <= 64:
            errors.append({"field": [*where, "key"], "code": "INVALID", "message": "Key is too short."})
        if mf.get("type") not in METAFIELD_TYPES:
            errors.append({"field": [*where, "type"], "code": "INVALID_TYPE", "message": "Type is invalid."})
        if mf.get("value") in (None, ""):
            errors.append({"field": [*where, "value"], "code": "BLANK", "message": "Value can't be blank."})
        elif (version == "unstable" or version >= "2026-04") and len(
                str(mf["value"]).encode()) > METAFIELD_MAX_2026_04:
            errors.append({"field": [*where, "value"], "code": "INVALID",
                           "message": "Value exceeds the maximum size of 16 KB."})
    if errors:
        return {"metafields": None, "userErrors": errors}
    for mf in inputs:
        state.app_metafields[(mf["namespace"], mf["key"])] = {"type": mf["type"], "value": mf["value"]}
    return {"metafields": [{"namespace": m["namespace"], "key": m["key"], "value": m["value"]} for m in inputs],
            "userErrors": []}


DISCOUNT_MUTATIONS = {"discountCodeBasicCreate": "basicCodeDiscount",
                      "discountCodeFreeShippingCreate": "freeShippingCodeDiscount"}
DISCOUNT_BASE = 1_500_000_000
_discount_lock = threading.Lock()  # the server is threaded: two creations of one code must not both succeed


def _discount_error(field: list[str], code: str, message: str) -> dict[str, Any]:
    return {"codeDiscountNode": None, "userErrors": [{"field": field, "code": code, "message": message,
                                                     "extraInfo": None}]}


def create_code_discount(state: ShopState, info: GraphQLResolveInfo, name: str, data: dict[str, Any]) -> Any:
    """Shopify's code-discount creation as the docs describe it: `write_discounts`, a code unique in the shop
    (case-insensitive, else TAKEN), endsAt after startsAt, a percentage within 0..1 for basic discounts."""
    if not has_scope(info.context["scopes"], "write_discounts"):
        raise GraphQLError(f"Access denied for {name} field. Required access: `write_discounts` access scope.",
                           extensions={"code": "ACCESS_DENIED", "requiredAccess": "`write_discounts` access scope."})
    with _discount_lock:
        return _create_code_discount(state, name, data)


def _create_code_discount(state: ShopState, name: str, data: dict[str, Any]) -> Any:
    arg = DISCOUNT_MUTATIONS[name]
    code = str(data.get("code") or "").strip()
    if not 1 <= len(code) <= 255:
        return _discount_error([arg, "code"], "BLANK", "Code can't be blank")
    if code.upper() in {c.upper() for c in state.discount_codes}:
        return _discount_error([arg, "code"], "TAKEN", "Code must be unique. Please try a different code.")
    starts, ends = data.get("startsAt"), data.get("endsAt")
    if ends and starts and _parse_time(str(ends)) <= _parse_time(str(starts)):
        return _discount_error([arg, "endsAt"], "INVALID", "Ends at needs to be after starts_at")
    percentage = None
    if name == "discountCodeBasicCreate":
        value = ((data.get("customerGets") or {}).get("value") or {})
        percentage = value.get("percentage")
        if percentage is None or not 0 < float(percentage) <= 1:
            return _discount_error([arg, "customerGets", "value", "percentage"], "VALUE_OUTSIDE_RANGE",
                                   "Value must be between 0.0 and 1.0")
    node_id = gid("DiscountCodeNode", DISCOUNT_BASE + len(state.discount_codes))
    state.discount_codes[code] = {"id": node_id, "code": code, "kind": name, "percentage": percentage,
                                  "startsAt": starts, "endsAt": ends, "usageLimit": data.get("usageLimit"),
                                  "appliesOncePerCustomer": data.get("appliesOncePerCustomer"),
                                  "title": data.get("title")}
    return {"codeDiscountNode": {"id": node_id}, "userErrors": []}


def make_resolver(state: ShopState, version: str = LATEST_VERSION) -> Any:
    schema = load_schema(version)[0]
    query_type, mutation_type = schema.query_type, schema.mutation_type

    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        if info.parent_type is query_type:
            return _resolve_query_root(state, info, args)
        if info.parent_type is mutation_type:
            return _resolve_mutation_root(state, info, args)
        value = source.get(info.field_name) if isinstance(source, dict) else getattr(source, info.field_name, None)
        if callable(value):
            value = value(**args)
        if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
            value = paginate_list(value, args)
        return value

    return resolve


# ------------------------------------------------------------------------------------------- the endpoint
def graphql_response(state: ShopState, body: dict[str, Any], scopes: set[str],
                     version: str = LATEST_VERSION) -> dict[str, Any]:
    """The JSON body Shopify answers (always HTTP 200 once authenticated), per the request's API version."""
    schema, _ = load_schema(version)
    query = body.get("query")
    variables = body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        return {"errors": [{"message": "Parameter query is required and must be a string",
                            "extensions": {"code": "BAD_REQUEST"}}]}
    document, errors = parse_and_validate(schema, query)
    if errors:
        return {"errors": errors}
    operation = operation_of(document, body.get("operationName"))
    if operation is None:
        return {"errors": [{"message": "An operation name is required when the document has several operations",
                            "extensions": {"code": "BAD_REQUEST"}}]}
    calc = CostCalculator(schema, document, variables)
    requested = calc.requested(operation)
    bucket = state.bucket
    if requested > MAX_QUERY_COST:
        return {"errors": [{"message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                            f"({MAX_QUERY_COST}).\n\nSee {RATE_LIMIT_DOC} for more information on how the cost of a "
                            "query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk "
                            "operations should be used instead.",
                            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                           "maxCost": MAX_QUERY_COST}}],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                        "throttleStatus": bucket.status()}}}
    if not bucket.take(requested):
        state.throttled += 1
        return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                                                                   "documentation": RATE_LIMIT_DOC}}],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                        "throttleStatus": bucket.status()}}}
    context: dict[str, Any] = {"scopes": scopes, "version": version}
    result = execute(schema, document, variable_values=variables, operation_name=body.get("operationName"),
                     field_resolver=make_resolver(state, version), context_value=context)
    actual = calc.actual(operation, result.data)
    bucket.refund(requested - actual)
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = [_error_dict(e) for e in result.errors]
    out["data"] = result.data
    out["extensions"] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                                  "throttleStatus": bucket.status()}}
    if context.get("search_warnings"):
        out["extensions"]["search"] = [{"path": [], "query": "", "warnings": context["search_warnings"]}]
    return out


def _error_dict(err: GraphQLError) -> dict[str, Any]:
    original = err.original_error
    if original is not None and not isinstance(original, GraphQLError):
        # A bug in the stand-in: say so loudly rather than hide it behind a generic error.
        message = f"Internal error in the stand-in: {type(original).__name__}: {original}"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    else:
        message, extensions = err.message, err.extensions or {}
    out: dict[str, Any] = {"message": message}
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    if err.path:
        out["path"] = list(err.path)
    if extensions:
        out["extensions"] = extensions
    return out
