"""Shopify's Admin GraphQL schema (loaded once), document validation and the calculated query cost.

The schema follows the API version in the request path: 2026-01 and later (and `unstable`) are served with
../shared/shopify/admin-2026-04.graphql.gz, older versions with admin-2025-04.graphql.gz (SHOPIFY_SCHEMA_DIR names
another folder holding them; SHOPIFY_ADMIN_SCHEMA one file for every version). Without them the stand-in still
serves requests, with a minimal built-in schema and no validation against Shopify's, and logs so.

Cost, as Shopify documents it (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and
enums 0, objects 1, connections 2 + first x (cost of one node), interfaces/unions the max of their possible
selections, a mutation field 10. A single query may not request more than 1000. The actual cost walks the result
the same way with the number of nodes really returned.
"""
from __future__ import annotations

import gc
import gzip
import logging
import os
import threading
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

log = logging.getLogger("standins.shopify")

SCHEMA_ENV = "SHOPIFY_ADMIN_SCHEMA"
SCHEMA_DIR_ENV = "SHOPIFY_SCHEMA_DIR"
DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[4] / "shared" / "shopify"
LATEST_VERSION = "2026-10"  # what the app calls (settings.SHOPIFY_API_VERSION's default)
# From 2026-01: bulkOperationRunQuery(groupObjects:), several bulk queries at once, bulkOperation(id:).
UNGROUPED_FROM = "2026-01"
MAX_QUERY_COST = 1000
MUTATION_COST = 10

# Enough of Shopify's schema to serve the stand-in's own queries when the real SDL is absent.
_FALLBACK_SDL = """
scalar DateTime
scalar Money
scalar URL
scalar Decimal
scalar UnsignedInt64
scalar HTML
interface Node { id: ID! }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String }
type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type Domain { url: URL! host: String! }
type Shop { id: ID! name: String! currencyCode: String! ianaTimezone: String! myshopifyDomain: String!
  email: String! primaryDomain: Domain! }
type SelectedOption { name: String! value: String! }
type Location implements Node { id: ID! name: String! }
type InventoryQuantity { name: String! quantity: Int! }
type InventoryLevel implements Node { id: ID! location: Location! quantities(names: [String!]!): [InventoryQuantity!]!
  updatedAt: DateTime! }
type InventoryLevelEdge { node: InventoryLevel! cursor: String! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }
type InventoryItem implements Node { id: ID! sku: String tracked: Boolean!
  inventoryLevels(first: Int, after: String): InventoryLevelConnection! }
type Collection implements Node { id: ID! title: String! handle: String! updatedAt: DateTime! }
type CollectionEdge { node: Collection! cursor: String! }
type CollectionConnection { edges: [CollectionEdge!]! nodes: [Collection!]! pageInfo: PageInfo! }
type ProductVariant implements Node { id: ID! title: String! sku: String price: Money! compareAtPrice: Money
  inventoryQuantity: Int availableForSale: Boolean! selectedOptions: [SelectedOption!]! inventoryItem: InventoryItem!
  updatedAt: DateTime! }
type ProductVariantEdge { node: ProductVariant! cursor: String! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }
type Product implements Node { id: ID! legacyResourceId: UnsignedInt64! title: String! handle: String!
  vendor: String! productType: String! status: String! tags: [String!]! createdAt: DateTime! updatedAt: DateTime!
  totalInventory: Int! variants(first: Int, after: String): ProductVariantConnection!
  collections(first: Int, after: String): CollectionConnection! }
type ProductEdge { node: Product! cursor: String! }
type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }
type MailingAddress { city: String province: String countryCodeV2: String }
type Customer implements Node { id: ID! email: String phone: String firstName: String lastName: String
  tags: [String!]! createdAt: DateTime! updatedAt: DateTime! defaultAddress: MailingAddress }
type CustomerEdge { node: Customer! cursor: String! }
type CustomerConnection { edges: [CustomerEdge!]! nodes: [Customer!]! pageInfo: PageInfo! }
type LineItem { id: ID! title: String! quantity: Int! sku: String variant: ProductVariant product: Product
  originalUnitPriceSet: MoneyBag! }
type LineItemEdge { node: LineItem! cursor: String! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type Order implements Node { id: ID! name: String! email: String createdAt: DateTime! updatedAt: DateTime!
  cancelledAt: DateTime sourceName: String customer: Customer totalPriceSet: MoneyBag!
  displayFinancialStatus: String discountCodes: [String!]! lineItems(first: Int, after: String): LineItemConnection! }
type OrderEdge { node: Order! cursor: String! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationType { QUERY MUTATION }
type BulkOperation implements Node { id: ID! status: BulkOperationStatus! errorCode: String createdAt: DateTime!
  completedAt: DateTime objectCount: UnsignedInt64! rootObjectCount: UnsignedInt64! fileSize: UnsignedInt64
  url: URL partialDataUrl: URL query: String! type: BulkOperationType! }
type BulkOperationUserError { field: [String!] message: String! code: String }
type BulkOperationEdge { node: BulkOperation! cursor: String! }
type BulkOperationConnection { edges: [BulkOperationEdge!]! nodes: [BulkOperation!]! pageInfo: PageInfo! }
enum BulkOperationsSortKeys { COMPLETED_AT CREATED_AT ID }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }
type BulkOperationCancelPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }
enum ProductSortKeys { ID UPDATED_AT CREATED_AT TITLE }
enum CustomerSortKeys { ID UPDATED_AT CREATED_AT NAME }
enum OrderSortKeys { ID UPDATED_AT CREATED_AT PROCESSED_AT }
type QueryRoot { shop: Shop! node(id: ID!): Node
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation @deprecated(reason: "Use `bulkOperations`.")
  bulkOperation(id: ID!): BulkOperation
  bulkOperations(first: Int, last: Int, after: String, before: String, query: String,
    sortKey: BulkOperationsSortKeys = CREATED_AT, reverse: Boolean = false): BulkOperationConnection!
  products(first: Int, last: Int, after: String, before: String, query: String, sortKey: ProductSortKeys,
    reverse: Boolean): ProductConnection!
  customers(first: Int, last: Int, after: String, before: String, query: String, sortKey: CustomerSortKeys,
    reverse: Boolean): CustomerConnection!
  orders(first: Int, last: Int, after: String, before: String, query: String, sortKey: OrderSortKeys,
    reverse: Boolean): OrderConnection!
  customer(id: ID!): Customer order(id: ID!): Order
  product(id: ID!): Product productVariant(id: ID!): ProductVariant inventoryItem(id: ID!): InventoryItem }
type Mutation { bulkOperationRunQuery(groupObjects: Boolean! = false, query: String!): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload }
schema { query: QueryRoot mutation: Mutation }
"""

_lock = threading.Lock()
_cache: dict[str, tuple[GraphQLSchema, bool]] = {}


def is_2026(version: str) -> bool:
    """API 2026-01 or newer (`unstable` is the newest of all)."""
    return version == "unstable" or version >= UNGROUPED_FROM


def schema_path(version: str = LATEST_VERSION) -> Path:
    """The published schema closest to `version` that is here: 2026-04 for 2026-01 on, else 2025-04."""
    if os.environ.get(SCHEMA_ENV):
        return Path(os.environ[SCHEMA_ENV])
    folder = Path(os.environ.get(SCHEMA_DIR_ENV) or DEFAULT_SCHEMA_DIR)
    return folder / ("admin-2026-04.graphql.gz" if is_2026(version) else "admin-2025-04.graphql.gz")


def schema_available(version: str = LATEST_VERSION) -> bool:
    return schema_path(version).is_file()


def load_schema(version: str = LATEST_VERSION) -> tuple[GraphQLSchema, bool]:
    """(schema, is_shopify_schema) for an API version. Built once per process and file (about 2-3 s for
    Shopify's 3 MB SDL)."""
    path = schema_path(version)
    key = str(path)
    with _lock:
        if key not in _cache:
            if path.is_file():
                sdl = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
                # The published schema trips graphql-core's stricter deprecation checks (see SOURCE.md).
                _cache[key] = (build_schema(sdl, assume_valid=True), True)
                # The schema's ~1M objects live forever: keep them out of every later GC pass (bulk exports
                # allocate millions of short-lived dicts, and each full collection would rescan the schema).
                gc.freeze()
            else:
                log.warning("Shopify Admin schema not found at %s: GraphQL documents are NOT validated against "
                            "Shopify's schema (minimal built-in schema in use)", path)
                _cache[key] = (build_schema(_FALLBACK_SDL), False)
        return _cache[key]


def _shopify_error(err: GraphQLError, code: str) -> dict[str, Any]:
    out: dict[str, Any] = {"message": err.message}
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    out["extensions"] = {"code": code}
    return out


def parse_and_validate(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """Parse and validate; errors come back shaped like Shopify's (message, locations, extensions.code)."""
    try:
        document = parse(query, max_tokens=50_000)
    except GraphQLError as err:
        return None, [_shopify_error(err, "parseError")]
    errors = validate(schema, document, max_errors=20)
    if errors:
        return None, [_shopify_error(e, "validationError") for e in errors]
    return document, []


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in ops if o.name and o.name.value == name), None)
    return ops[0] if len(ops) == 1 else None


def _arg(field: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for a in field.arguments or ():
        if a.name.value == name:
            return value_from_ast_untyped(a.value, variables)
    return None


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _is_connection(type_name: str) -> bool:
    return type_name.endswith("Connection")


class CostCalculator:
    """Requested cost of an operation (before running) and actual cost (from its result)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.variables = variables or {}

    def _fields(self, selection_set: SelectionSetNode | None, parent: Any) -> list[tuple[FieldNode, Any]]:
        """Flatten fragments; returns (field node, owning type)."""
        out: list[tuple[FieldNode, Any]] = []
        if selection_set is None:
            return out
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                t = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                out.extend(self._fields(sel.selection_set, t))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag:
                    out.extend(self._fields(frag.selection_set, self.schema.get_type(frag.type_condition.name.value)))
        return out

    def _field_type(self, parent: Any, name: str) -> Any:
        fields = getattr(parent, "fields", None)
        if not fields or name not in fields:
            return None
        return fields[name].type

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        # Fields under different type conditions (interfaces/unions) are alternatives: take the max per type.
        by_type: dict[str, int] = {}
        for field, owner in self._fields(selection_set, parent):
            key = getattr(owner, "name", "")
            by_type[key] = by_type.get(key, 0) + self.field_cost(field, owner)
        if not by_type:
            return 0
        common = by_type.pop(getattr(parent, "name", ""), 0)
        return common + (max(by_type.values()) if by_type else 0)

    def field_cost(self, field: FieldNode, owner: Any) -> int:
        ftype = self._field_type(owner, field.name.value)
        if ftype is None:
            return 0
        named = get_named_type(ftype)
        if is_leaf_type(named):
            return 0
        if _is_connection(named.name):
            size = _arg(field, "first", self.variables) or _arg(field, "last", self.variables) or 0
            return 2 + int(size) * self._node_cost(field, named)
        return 1 + self.selection_cost(field.selection_set, named)

    def _node_cost(self, field: FieldNode, connection: Any) -> int:
        best = 0
        for sub, owner in self._fields(field.selection_set, connection):
            name = sub.name.value
            if name == "nodes":
                best = max(best, 1 + self.selection_cost(sub.selection_set, get_named_type(owner.fields[name].type)))
            elif name == "edges":
                edge = get_named_type(owner.fields[name].type)
                for inner, inner_owner in self._fields(sub.selection_set, edge):
                    if inner.name.value == "node":
                        node_type = get_named_type(inner_owner.fields["node"].type)
                        best = max(best, 1 + self.selection_cost(inner.selection_set, node_type))
        return best

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation == OperationType.MUTATION:
            root = self.schema.mutation_type
            return sum(MUTATION_COST for f, _ in self._fields(operation.selection_set, root))
        return self.selection_cost(operation.selection_set, self.schema.query_type)

    # actual cost: the same walk over the data really returned
    def actual(self, operation: OperationDefinitionNode, data: dict[str, Any] | None) -> int:
        if data is None:
            return 0
        if operation.operation == OperationType.MUTATION:
            return self.requested(operation)
        return self._actual_selection(operation.selection_set, self.schema.query_type, data)

    def _actual_selection(self, selection_set: SelectionSetNode | None, parent: Any, data: Any) -> int:
        if not isinstance(data, dict):
            return 0
        total = 0
        for field, owner in self._fields(selection_set, parent):
            key = field.alias.value if field.alias else field.name.value
            if key not in data or data[key] is None:
                continue
            ftype = self._field_type(owner, field.name.value)
            if ftype is None:
                continue
            named = get_named_type(ftype)
            if is_leaf_type(named):
                continue
            value = data[key]
            if _is_connection(named.name) and isinstance(named, GraphQLObjectType):
                total += self._actual_connection(field, named, value)
            elif isinstance(value, list):
                total += sum(1 + self._actual_selection(field.selection_set, named, v) for v in value)
            else:
                total += 1 + self._actual_selection(field.selection_set, named, value)
        return total

    def _actual_connection(self, field: FieldNode, connection: Any, value: dict[str, Any]) -> int:
        best = 0
        for sub, owner in self._fields(field.selection_set, connection):
            key = sub.alias.value if sub.alias else sub.name.value
            items = value.get(key) or []
            if sub.name.value == "nodes":
                node_type = get_named_type(owner.fields["nodes"].type)
                best = max(best, sum(1 + self._actual_selection(sub.selection_set, node_type, n) for n in items))
            elif sub.name.value == "edges":
                edge_type = get_named_type(owner.fields["edges"].type)
                for inner, inner_owner in self._fields(sub.selection_set, edge_type):
                    if inner.name.value != "node":
                        continue
                    node_key = inner.alias.value if inner.alias else "node"
                    node_type = get_named_type(inner_owner.fields["node"].type)
                    best = max(best, sum(1 + self._actual_selection(inner.selection_set, node_type, e.get(node_key))
                                         for e in items if isinstance(e, dict)))
        return 2 + best
