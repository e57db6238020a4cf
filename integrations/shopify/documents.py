"""Every GraphQL document the app sends to Shopify's Admin API, in one place (a test validates them all against
Shopify's published schema).

Bulk queries (run through bulkOperationRunQuery) have no `first:` arguments: Shopify pages them itself and writes
nested connections as separate JSONL lines with `__parentId`. The paged queries used by reconciliation select the
same fields, so one mapper reads both (records.py). Field lists are shared as Python strings, not GraphQL fragments,
so each document stands alone.
"""
from __future__ import annotations

# --- field selections shared by bulk and paged documents ---------------------------------------------------------

COLLECTION_FIELDS = "id title handle updatedAt"

PRODUCT_FIELDS = """
  id title handle vendor productType tags status onlineStoreUrl createdAt updatedAt
  featuredMedia { preview { image { url } } ... on MediaImage { image { url } } }
"""

VARIANT_FIELDS = """
  id title sku price compareAtPrice inventoryQuantity inventoryPolicy availableForSale updatedAt
  inventoryItem { id tracked }
"""

INVENTORY_LEVEL_FIELDS = """
  id updatedAt location { id } quantities(names: ["available"]) { name quantity }
"""

# Contact and consent through defaultEmailAddress / defaultPhoneNumber: Customer.email, .phone and
# .emailMarketingConsent are deprecated in 2026-04.
CUSTOMER_FIELDS = """
  id firstName lastName tags createdAt updatedAt numberOfOrders
  defaultEmailAddress { emailAddress marketingState }
  defaultPhoneNumber { phoneNumber }
  amountSpent { amount currencyCode }
  defaultAddress { countryCodeV2 province city }
"""

ORDER_FIELDS = """
  id name email createdAt updatedAt processedAt cancelledAt cancelReason sourceName
  app { id name }
  currencyCode displayFinancialStatus discountCodes
  customer { id }
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalRefundedSet { shopMoney { amount currencyCode } }
  shippingAddress { countryCodeV2 provinceCode city zip }
  customAttributes { key value }
  refunds { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } } }
"""

LINE_ITEM_FIELDS = """
  id title sku quantity currentQuantity
  product { id }
  variant { id }
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  totalDiscountSet { shopMoney { amount currencyCode } }
  customAttributes { key value }
"""

# --- bulk operations ---------------------------------------------------------------------------------------------

BULK_COLLECTIONS = f"""
{{
  collections {{ edges {{ node {{ {COLLECTION_FIELDS} }} }} }}
}}
"""

# Products with variants, each variant's stock per location, and the product's collections (memberships).
# Nested connections: variants → inventoryLevels (two levels, Shopify's limit), collections (one level).
BULK_PRODUCTS = f"""
{{
  products {{
    edges {{
      node {{
        {PRODUCT_FIELDS}
        collections {{ edges {{ node {{ id }} }} }}
        variants {{
          edges {{
            node {{
              {VARIANT_FIELDS}
              inventoryItem {{ inventoryLevels {{ edges {{ node {{ {INVENTORY_LEVEL_FIELDS} }} }} }} }}
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""

BULK_CUSTOMERS = f"""
{{
  customers {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }}
}}
"""

BULK_ORDERS = f"""
{{
  orders {{
    edges {{
      node {{
        {ORDER_FIELDS}
        lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }}
      }}
    }}
  }}
}}
"""

BULK_QUERIES = {
    "collections": BULK_COLLECTIONS,
    "products": BULK_PRODUCTS,
    "customers": BULK_CUSTOMERS,
    "orders": BULK_ORDERS,
}

BULK_OPERATION_FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query"
)

# groupObjects: false (API 2026-01 on): the sync reads lines in any order (bulkfile.py), so it never asks for the
# grouped output Shopify builds more slowly and times out more often.
BULK_RUN_QUERY = f"""
mutation BulkRunQuery($query: String!) {{
  bulkOperationRunQuery(query: $query, groupObjects: false) {{
    bulkOperation {{ {BULK_OPERATION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

BULK_OPERATION = f"""
query BulkOperation($id: ID!) {{
  bulkOperation(id: $id) {{ {BULK_OPERATION_FIELDS} }}
}}
"""

# The app's bulk queries still running (several may run at once from 2026-01; `currentBulkOperation` is deprecated).
RUNNING_BULK_OPERATIONS = f"""
query RunningBulkOperations {{
  bulkOperations(first: 10, query: "operation_type:query AND (status:created OR status:running)") {{
    nodes {{ {BULK_OPERATION_FIELDS} }}
  }}
}}
"""

BULK_CANCEL = """
mutation BulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

# --- paged queries (reconciliation: what changed since a cursor) ------------------------------------------------

PAGE_INFO = "pageInfo { hasNextPage endCursor }"

PRODUCTS_PAGE = f"""
query ProductsPage($first: Int!, $after: String, $query: String) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      {PRODUCT_FIELDS}
      collections(first: 10) {{ nodes {{ id }} pageInfo {{ hasNextPage }} }}
      variants(first: 10) {{
        nodes {{
          {VARIANT_FIELDS}
          inventoryItem {{
            inventoryLevels(first: 3) {{ nodes {{ {INVENTORY_LEVEL_FIELDS} }} pageInfo {{ hasNextPage }} }}
          }}
        }}
        pageInfo {{ hasNextPage }}
      }}
    }}
    {PAGE_INFO}
  }}
}}
"""

COLLECTIONS_PAGE = f"""
query CollectionsPage($first: Int!, $after: String, $query: String) {{
  collections(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {COLLECTION_FIELDS} }}
    {PAGE_INFO}
  }}
}}
"""

CUSTOMERS_PAGE = f"""
query CustomersPage($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {CUSTOMER_FIELDS} }}
    {PAGE_INFO}
  }}
}}
"""

ORDERS_PAGE = f"""
query OrdersPage($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: 20) {{ nodes {{ {LINE_ITEM_FIELDS} }} pageInfo {{ hasNextPage }} }}
    }}
    {PAGE_INFO}
  }}
}}
"""

PAGED_QUERIES = {
    "collections": COLLECTIONS_PAGE,
    "products": PRODUCTS_PAGE,
    "customers": CUSTOMERS_PAGE,
    "orders": ORDERS_PAGE,
}

SHOP_INFO = """
query ShopInfo {
  shop { name currencyCode ianaTimezone primaryDomain { host } }
}
"""


# --- discounts (popups' code pools: one single-use code per discount) --------------------------------------------

DISCOUNT_USER_ERRORS = "userErrors { field code message }"

DISCOUNT_CODE_BASIC_CREATE = f"""
mutation DiscountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {{
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {{
    codeDiscountNode {{ id }}
    {DISCOUNT_USER_ERRORS}
  }}
}}
"""

DISCOUNT_CODE_FREE_SHIPPING_CREATE = f"""
mutation DiscountCodeFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {{
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {{
    codeDiscountNode {{ id }}
    {DISCOUNT_USER_ERRORS}
  }}
}}
"""


def all_documents() -> dict[str, str]:
    """Name → document, for the schema validation test."""
    return {name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
            and value.lstrip().startswith(("{", "query", "mutation"))}


# --- storefront configuration: the theme app extension reads app.metafields.personalize.* -----------------------

CURRENT_APP_INSTALLATION = """
query CurrentAppInstallation { currentAppInstallation { id } }
"""

SET_APP_METAFIELDS = """
mutation SetAppMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { namespace key value }
    userErrors { field message code }
  }
}
"""

# Starts the merchant's Flow workflows that begin with our trigger (integrations/shopify/flow/).
FLOW_TRIGGER_RECEIVE = """
mutation FlowTriggerReceive($handle: String, $payload: JSON) {
  flowTriggerReceive(handle: $handle, payload: $payload) {
    userErrors { field message }
  }
}
"""

# Customer tags (integrations/shopify/customer_tags.py). Both need write_customers on a Customer GID; `tags` is a
# list whose strings Shopify also splits on commas (we send one tag, comma-free).
TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

TAGS_REMOVE = """
mutation TagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

# The scopes this installation holds, as Shopify records them (not as we last asked for them).
ACCESS_SCOPES = """
query AccessScopes { currentAppInstallation { accessScopes { handle } } }
"""
