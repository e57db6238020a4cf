"""A local Shopify: a real HTTP server that speaks Shopify's documented protocol, for tests and `make demo`.

Start it, add shops, point shopifyapp at it::

    from tests.standins.shopify import ShopifyStandin, StoreSize, standin_http_client

    standin = ShopifyStandin("api-key", "api-secret", app_url="http://127.0.0.1:8000",
                             webhook_url="http://127.0.0.1:8000/shopify/webhooks",
                             size=StoreSize(products=200, orders=1000), seed=7,
                             token_lifetime=3600, bucket_size=1000, restore_rate=50,
                             webhook_timeout=5, retry_delays=(0.1, 0.2), bulk_duration=0.0).start()
    standin.add_shop("alpha.myshopify.com")            # size/seed/currency per shop optional
    client = standin_http_client(standin.base_url)      # httpx.Client routing *.myshopify.com to the stand-in
    ...
    standin.stop()

The server binds 127.0.0.1 on an ephemeral port (`standin.base_url`) and picks the shop from the Host header, so
requests must keep `Host: <shop>.myshopify.com` (the client above does). Endpoints:

- ``GET /admin/oauth/authorize`` and ``POST /admin/oauth/access_token`` (authorization code, token exchange,
  refresh_token grants; see ``oauth.py``). ``standin.session_token(shop, user_id=1, expires_in=60, secret=None,
  aud=None, dest=None)`` mints an App Bridge session token; ``standin.signed_install_query(shop)`` the signed
  query for the app's install URL; ``standin.issue_token(shop)`` an offline token without the install dance;
  ``standin.expire_token(token)``; ``token_lifetime`` makes expiring tokens short (refresh tests).
- ``POST /admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token`` (401 if missing, wrong, expired or
  revoked): validated against the schema of the path's version, ../shared/shopify/admin-2026-04.graphql.gz from
  2026-01 on, admin-2025-04.graphql.gz before (``SHOPIFY_SCHEMA_DIR`` names another folder;
  ``schema.schema_available(version)`` tells whether it is there), so each version rejects what Shopify's would;
  cost in ``extensions.cost``, per-shop leaky bucket answering THROTTLED, access scopes enforced.
  ``standin.fail_graphql(shop, status=503, count=1)`` injects failures (429 carries Retry-After).
  Served: shop, node/nodes, product, productVariant, customer, order, collection, inventoryItem, inventoryLevel,
  location, products/customers/orders (query "updated_at:>'ISO'", sortKey UPDATED_AT/CREATED_AT/ID, reverse,
  first/after/last/before), collections, locations, bulkOperation(id:) and bulkOperations (2026-01 on),
  currentBulkOperation, bulkOperationRunQuery (groupObjects from 2026-01), bulkOperationCancel, metafieldsSet
  (values up to 16 KB from 2026-04). Any field present in the store's dicts can be selected (see ``store.py``).
- Bulk results at ``GET /bulk-results/<shop>/<n>/<secret>.jsonl`` on the stand-in itself (the operation's ``url``),
  streamed, children with ``__parentId``: right after their parent before 2026-01 or with ``groupObjects: true``,
  otherwise anywhere (a seeded, repeatable shuffle; ``bulk.py`` says how); ``bulk_operations/finish`` is POSTed
  when done. One bulk query at a time before 2026-01, five from then.
- Webhooks to ``webhook_url`` (compliance topics to ``compliance_webhook_url`` or the same), signed like Shopify's,
  only for installed shops (install = a token was issued) and subscribed topics (``topics=`` or
  ``app_config="shopify.app.toml"``, which also supplies the scopes; default: every topic), retried after each
  delay in ``retry_delays`` until a 2xx. ``standin.deliveries`` / ``deliveries_for(topic, shop)`` list
  `Delivery` records (topic, payload, body, headers, webhook_id, event_id, attempts[].status, delivered,
  gave_up); ``wait_for_webhooks(timeout)``;
  ``replay(delivery)`` sends the identical delivery again; ``webhook_payload(shop, topic, index)`` snapshots a
  payload to ``send_webhook(shop, topic, payload)`` later (out of order, new event id).

Store changes that fire the matching webhooks: ``set_price(shop, variant, price, compare_at=False)``,
``update_product(shop, i, title=..., status=...)``, ``create_product_event``, ``delete_product``,
``set_stock(shop, variant, location, available)``, ``update_inventory_item``, ``collection_event(shop, k, topic)``,
``create_customer(shop, **fields) -> index``, ``update_customer``, ``delete_customer``,
``create_order(shop, [(variant, qty)], customer=-1, source="web"|"pos"|..., discount_code=None) -> index``,
``cancel_order``, ``refund_order(shop, order, [(line_no, qty)] | None)``, ``update_order``,
``request_customer_data``, ``redact_customer``, ``redact_shop``, ``uninstall`` (revokes tokens, app/uninstalled).

The generated data: ``standin.store(shop)`` is a `Store` (``store.py`` documents the catalog and co-purchase
rules): ``product(i)``, ``variant(v)``, ``customer(c)``, ``order(o)``, ``collection(k)`` return the GraphQL-shaped
objects the API serves (read-only mappings computed field by field: ``node["title"]``, ``node["variants"]()``);
``companions(i)`` the products bought with product i; counts: ``product_count``, ``live_product_count``,
``n_variants``, ``customer_count``, ``order_count``, ``line_count``; ids are ``*_BASE + index`` (``store.py``).

CLI (``make demo``): ``python -m tests.standins.shopify --port 8001 --shop demo.myshopify.com --api-key K
--api-secret S --app-url http://127.0.0.1:8000 --webhook-url http://127.0.0.1:8000/shopify/webhooks``.
"""
from __future__ import annotations

from .schema import schema_available
from .standin import DEFAULT_SCOPES, ShopifyStandin, ShopState
from .store import COMPANION_RULES, Store, StoreSize
from .transport import StandinTransport, standin_http_client
from .webhooks import Delivery, sign

__all__ = ["COMPANION_RULES", "DEFAULT_SCOPES", "Delivery", "ShopState", "ShopifyStandin", "StandinTransport",
           "Store", "StoreSize", "schema_available", "sign", "standin_http_client"]
