"""`ShopifyStandin`: the HTTP server, the shops it hosts, and the store mutations that fire webhooks."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import tomllib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import webhooks as wh
from .admin_api import LeakyBucket, graphql_response
from .bulk import BulkOperation, BulkOperations, jsonl_lines
from .oauth import OAuth, OAuthError
from .schema import load_schema
from .store import Store, StoreSize

log = logging.getLogger("standins.shopify")

DEFAULT_SCOPES = "read_products,read_inventory,read_customers,read_orders,read_locations,write_discounts"
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
MAX_BODY = 5 * 1024 * 1024
_GRAPHQL_PATH = re.compile(r"^/admin/api/(?P<version>\d{4}-\d{2}|unstable)/graphql\.json$")
_BULK_PATH = re.compile(r"^/bulk-results/(?P<shop>[a-z0-9][a-z0-9-]*\.myshopify\.com)/(?P<number>\d+)/"
                        r"(?P<secret>[A-Za-z0-9_-]+)\.jsonl$")
_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


@dataclass
class ShopState:
    """One hosted shop: its store, its cost bucket, its bulk operations, whether the app is installed."""

    domain: str
    store: Store
    bucket: LeakyBucket
    installed: bool = False
    throttled: int = 0
    graphql_requests: int = 0
    api_versions: set[str] = field(default_factory=set)
    injected_failures: deque[int] = field(default_factory=deque)
    # Code discounts the app created (discountCodeBasicCreate / discountCodeFreeShippingCreate), by code.
    discount_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The app installation's own metafields (metafieldsSet), read by the theme app extension as app.metafields.
    app_metafields: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Flow triggers the app fired (flowTriggerReceive): (handle, payload), in order.
    flow_triggers: list[tuple[str, Any]] = field(default_factory=list)
    # Called with a customer index after a mutation changed that customer (the stand-in sends customers/update).
    on_customer_changed: Any = None
    bulk: BulkOperations = field(init=False)


def read_app_config(path: str | os.PathLike[str]) -> tuple[set[str], str | None]:
    """(subscribed topics, scopes) from a shopify.app.toml: Shopify delivers only the topics the app subscribes to.

    The subscriptions' `uri`s name the production app; the stand-in delivers to its own webhook_url instead."""
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    topics: set[str] = set()
    for sub in config.get("webhooks", {}).get("subscriptions", []):
        topics.update(sub.get("topics", []))
        topics.update(sub.get("compliance_topics", []))
    return topics, config.get("access_scopes", {}).get("scopes")


class ShopifyStandin:
    """A local Shopify serving many shops on 127.0.0.1. See the package docstring for the full API."""

    def __init__(self, api_key: str = "standin-api-key", api_secret: str = "standin-api-secret-0123456789abcdef", *,
                 app_url: str = "http://127.0.0.1:8000", webhook_url: str | None = None,
                 compliance_webhook_url: str | None = None, scopes: str | None = None,
                 app_config: str | os.PathLike[str] | None = None,
                 size: StoreSize | None = None, seed: int = 1, api_version: str = "2026-10",
                 token_lifetime: float = 3600.0, refresh_token_lifetime: float = 90 * 86_400.0,
                 bucket_size: float = 1000.0, restore_rate: float = 50.0, webhook_timeout: float = 5.0,
                 retry_delays: Iterable[float] = wh.SHOPIFY_RETRY_DELAYS, bulk_duration: float = 0.0,
                 redirect_urls: Iterable[str] = (), topics: Iterable[str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, validate_schema: bool = True) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.webhook_url = webhook_url
        self.compliance_webhook_url = compliance_webhook_url
        self.size, self.seed = size or StoreSize(), seed
        self.api_version = api_version
        self.bucket_size, self.restore_rate = bucket_size, restore_rate
        self.bulk_duration = bulk_duration
        self.topics = set(topics) if topics is not None else None
        if app_config is not None:  # the app's shopify.app.toml: its subscriptions and scopes
            toml_topics, toml_scopes = read_app_config(app_config)
            self.topics = self.topics if topics is not None else toml_topics
            scopes = scopes or toml_scopes
        scopes = scopes or DEFAULT_SCOPES
        granted = frozenset(s.strip() for s in scopes.split(",") if s.strip())
        self.oauth = OAuth(api_key, api_secret, app_url.rstrip("/"), granted,
                           token_lifetime=token_lifetime, refresh_token_lifetime=refresh_token_lifetime,
                           redirect_urls=tuple(redirect_urls))
        self.webhooks = wh.WebhookDispatcher(api_secret, api_version, timeout=webhook_timeout,
                                             retry_delays=tuple(retry_delays))
        self.shops: dict[str, ShopState] = {}
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if validate_schema:
            load_schema()  # once, up front (False: on the first GraphQL request); logs if Shopify's is absent

    @property
    def app_url(self) -> str:
        """Where authorize may redirect (redirect_uri must live under it); assignable between tests."""
        return self.oauth.app_url

    @app_url.setter
    def app_url(self, value: str) -> None:
        self.oauth.app_url = value.rstrip("/")

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ShopifyStandin:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = _Server((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="shopify-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.webhooks.stop()

    def __enter__(self) -> ShopifyStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is not None:
            self._port = self._server.server_address[1]
        assert self._port, "start() the stand-in first"
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # ------------------------------------------------------------------ shops
    def add_shop(self, domain: str, *, size: StoreSize | None = None, seed: int | None = None,
                 installed: bool = False, currency: str = "EUR", name: str | None = None,
                 now: datetime | None = None) -> ShopState:
        if not _SHOP_DOMAIN.match(domain):
            raise ValueError(f"not a myshopify.com domain: {domain}")
        store = Store(domain, size or self.size, self.seed if seed is None else seed, currency=currency, name=name,
                      now=now)
        state = ShopState(domain, store, LeakyBucket(self.bucket_size, self.restore_rate), installed=installed)
        state.bulk = BulkOperations(state, self._bulk_url, lambda op, s=state: self._bulk_finished(s, op),
                                    duration=self.bulk_duration)
        state.on_customer_changed = lambda c, d=domain: self.send_webhook(
            d, "customers/update", wh.customer_payload(self.store(d), c))
        self.shops[domain] = state
        return state

    def shop(self, domain: str) -> ShopState:
        return self.shops[domain]

    def store(self, domain: str) -> Store:
        return self.shops[domain].store

    # ------------------------------------------------------------------ auth helpers for tests
    def session_token(self, shop: str, user_id: int = 1, **kwargs: Any) -> str:
        """An App Bridge session token (id token) for `shop`; kwargs: expires_in, secret, aud, dest, issued_at."""
        return self.oauth.session_token(shop, user_id, **kwargs)

    def signed_install_query(self, shop: str, **kwargs: Any) -> str:
        """`shop=...&timestamp=...&host=...&hmac=...` as Shopify sends to the app's install URL."""
        return self.oauth.signed_install_query(shop, **kwargs)

    def issue_token(self, shop: str, *, expiring: bool = True) -> dict[str, Any]:
        """An offline token as if installed (the token endpoint's JSON), marking the shop installed."""
        self.shops[shop].installed = True
        return self.oauth.issue_offline_token(shop, expiring=expiring)

    def expire_token(self, token: str) -> None:
        self.oauth.expire_token(token)

    def fail_graphql(self, shop: str, status: int = 503, count: int = 1) -> None:
        """The next `count` GraphQL requests for `shop` answer `status` (429 carries Retry-After: 1)."""
        self.shops[shop].injected_failures.extend([status] * count)

    # ------------------------------------------------------------------ webhooks
    @property
    def deliveries(self) -> list[wh.Delivery]:
        return self.webhooks.deliveries

    def deliveries_for(self, topic: str | None = None, shop: str | None = None) -> list[wh.Delivery]:
        return [d for d in self.webhooks.deliveries if (topic is None or d.topic == topic)
                and (shop is None or d.shop == shop)]

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.webhooks.wait_idle(timeout)

    def send_webhook(self, shop: str, topic: str, payload: dict[str, Any], *, url: str | None = None,
                     force: bool = False, **kwargs: Any) -> wh.Delivery | None:
        """POST one webhook as Shopify would (kwargs: event_id, webhook_id, triggered_at, secret, delay).

        Only for installed shops and subscribed topics unless `force`. Returns None when nothing is sent."""
        state = self.shops[shop]
        compliance = topic in COMPLIANCE_TOPICS
        target = url or ((self.compliance_webhook_url or self.webhook_url) if compliance else self.webhook_url)
        if not target:
            return None
        if not force:
            if not state.installed and topic not in ("shop/redact", "app/uninstalled"):
                return None
            if self.topics is not None and topic not in self.topics and not compliance:
                return None  # not subscribed (compliance topics are mandatory: always sent)
        return self.webhooks.send(target, shop, topic, payload, **kwargs)

    def replay(self, delivery: wh.Delivery, **kwargs: Any) -> wh.Delivery:
        """Deliver the same webhook again (same body, webhook id and event id)."""
        return self.webhooks.replay(delivery, **kwargs)

    def webhook_payload(self, shop: str, topic: str, index: int) -> dict[str, Any]:
        """The payload `topic` would carry for object `index` now: keep it to send later, out of order."""
        store = self.store(shop)
        builders = {"products": wh.product_payload, "orders": wh.order_payload, "customers": wh.customer_payload,
                    "collections": wh.collection_payload}
        return builders[topic.split("/")[0]](store, index)

    # ------------------------------------------------------------------ store changes that fire webhooks
    def set_price(self, shop: str, variant: int, price: Decimal | str, compare_at: Any = False) -> None:
        store = self.store(shop)
        store.set_variant_price(variant, Decimal(price), compare_at)
        self.send_webhook(shop, "products/update", wh.product_payload(store, int(store.v_product[variant])))

    def update_product(self, shop: str, product: int, **fields: Any) -> None:
        """fields: title, status ("ACTIVE"/"DRAFT"/"ARCHIVED")."""
        store = self.store(shop)
        store.update_product(product, **fields)
        self.send_webhook(shop, "products/update", wh.product_payload(store, product))

    def create_product_event(self, shop: str, product: int) -> None:
        """products/create for an existing generated product (as if just created)."""
        self.send_webhook(shop, "products/create", wh.product_payload(self.store(shop), product))

    def delete_product(self, shop: str, product: int) -> None:
        store = self.store(shop)
        store.delete_product(product)
        self.send_webhook(shop, "products/delete", wh.product_delete_payload(product))

    def set_stock(self, shop: str, variant: int, location: int, available: int) -> None:
        store = self.store(shop)
        store.set_stock(variant, location, available)
        self.send_webhook(shop, "inventory_levels/update", wh.inventory_level_payload(store, variant, location))

    def collection_event(self, shop: str, collection: int, topic: str = "collections/update") -> None:
        """collections/create, collections/update or collections/delete for collection index `collection`."""
        store = self.store(shop)
        payload = (wh.collection_delete_payload(store, collection) if topic == "collections/delete"
                   else wh.collection_payload(store, collection))
        self.send_webhook(shop, topic, payload)

    def update_inventory_item(self, shop: str, variant: int) -> None:
        """inventory_items/update for the variant's inventory item."""
        self.send_webhook(shop, "inventory_items/update", wh.inventory_item_payload(self.store(shop), variant))

    def create_customer(self, shop: str, **fields: Any) -> int:
        """fields: first, last, email, phone, country, city, province, marketing, tags, locale."""
        store = self.store(shop)
        c = store.add_customer(**fields)
        self.send_webhook(shop, "customers/create", wh.customer_payload(store, c))
        return c

    def update_customer(self, shop: str, customer: int, **fields: Any) -> None:
        store = self.store(shop)
        store.update_customer(customer, **fields)
        self.send_webhook(shop, "customers/update", wh.customer_payload(store, customer))

    def delete_customer(self, shop: str, customer: int) -> None:
        """customers/delete (the generated customer stays in the store data)."""
        self.send_webhook(shop, "customers/delete", wh.customer_delete_payload(customer))

    def create_order(self, shop: str, lines: list[tuple[int, int]], *, customer: int = -1, source: str = "web",
                     discount_code: str | None = None) -> int:
        """lines: (variant index, quantity). Fires orders/create, orders/paid and inventory_levels/update."""
        store = self.store(shop)
        o = store.add_order(lines, customer, source, discount_code)
        payload = wh.order_payload(store, o)
        self.send_webhook(shop, "orders/create", payload)
        self.send_webhook(shop, "orders/paid", payload)
        loc = 1 if source == "pos" else 0
        for v, _ in lines:
            self.send_webhook(shop, "inventory_levels/update", wh.inventory_level_payload(store, v, loc))
        return o

    def cancel_order(self, shop: str, order: int, reason: str = "CUSTOMER") -> None:
        store = self.store(shop)
        store.cancel_order(order, reason)
        payload = wh.order_payload(store, order)
        self.send_webhook(shop, "orders/cancelled", payload)
        self.send_webhook(shop, "orders/updated", payload)

    def refund_order(self, shop: str, order: int, lines: list[tuple[int, int]] | None = None) -> None:
        """lines: (line number, quantity); None refunds what is left. Fires refunds/create and orders/updated."""
        store = self.store(shop)
        store.refund_order(order, lines)
        refund = store.order(order)["refunds"]()[-1]
        self.send_webhook(shop, "refunds/create", wh.refund_payload(store, order, refund))
        self.send_webhook(shop, "orders/updated", wh.order_payload(store, order))

    def update_order(self, shop: str, order: int) -> None:
        """orders/updated with the order as it is now (after touching its updated_at)."""
        store = self.store(shop)
        with store.lock:
            spec = store.order_spec(order)
            spec.updated = store._bump()
            store._order_patch[order] = spec
        self.send_webhook(shop, "orders/updated", wh.order_payload(store, order))

    def customer_orders(self, shop: str, customer: int) -> list[int]:
        store = self.store(shop)
        gen = [int(o) for o in (store.o_customer == customer).nonzero()[0]]
        extra = [o for o in range(store.size.orders, store.order_count) if store.order_spec(o).customer == customer]
        return gen + extra

    def request_customer_data(self, shop: str, customer: int) -> wh.Delivery | None:
        store = self.store(shop)
        payload = wh.customers_data_request_payload(store, customer, self.customer_orders(shop, customer))
        return self.send_webhook(shop, "customers/data_request", payload)

    def redact_customer(self, shop: str, customer: int) -> wh.Delivery | None:
        store = self.store(shop)
        payload = wh.customers_redact_payload(store, customer, self.customer_orders(shop, customer))
        return self.send_webhook(shop, "customers/redact", payload)

    def redact_shop(self, shop: str) -> wh.Delivery | None:
        """shop/redact (Shopify sends it 48 hours after uninstall)."""
        return self.send_webhook(shop, "shop/redact", wh.shop_redact_payload(self.store(shop)))

    def uninstall(self, shop: str) -> wh.Delivery | None:
        """The merchant uninstalls the app: tokens are revoked, app/uninstalled is sent, no more webhooks."""
        state = self.shops[shop]
        self.oauth.revoke_shop(shop)
        delivery = self.send_webhook(shop, "app/uninstalled", wh.shop_payload(state.store))
        state.installed = False
        return delivery

    # ------------------------------------------------------------------ bulk plumbing
    def _bulk_url(self, op: BulkOperation) -> str:
        shop = next(s for s in self.shops.values() if op.gid in s.bulk.operations).domain
        return f"{self.base_url}/bulk-results/{shop}/{op.number}/{op.secret}.jsonl"

    def _bulk_finished(self, state: ShopState, op: BulkOperation) -> None:
        self.send_webhook(state.domain, "bulk_operations/finish", wh.bulk_finish_payload(op.as_graphql()))


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many app workers may connect at once
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    owner: ShopifyStandin
    protocol_version = "HTTP/1.1"
    server_version = "ShopifyStandin/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    # ------------------------------------------------------------------ plumbing
    def _shop(self) -> ShopState | None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        return self.owner.shops.get(host)

    def _send(self, status: int, body: Any = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json; charset=utf-8") -> None:
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if not isinstance(body, str)
                                                     else body.encode())
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if data or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(400, {"errors": "Bad Request"})
            return None
        if length > MAX_BODY:
            self._send(413, {"errors": "Request entity too large"})
            return None
        return self.rfile.read(length) if length else b""

    def _not_found(self) -> None:
        self._send(404, {"errors": "Not Found"})

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        # BrokenPipe: the app stopped reading (e.g. a sync worker killed mid-download).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._get()

    def _get(self) -> None:
        parts = urlsplit(self.path)
        m = _BULK_PATH.match(parts.path)
        if m:
            return self._bulk_result(m)
        if parts.path.startswith("/cdn/products/"):
            return self._picture(parts.path.rsplit("/", 1)[-1])
        if parts.path in ("/", "/healthz"):
            return self._send(200, {"shops": sorted(self.owner.shops), "api_key": self.owner.api_key})
        state = self._shop()
        if state is None:
            return self._not_found()
        if parts.path == "/admin/oauth/authorize":
            status, headers, body = self.owner.oauth.authorize(state.domain, parse_qs(parts.query))
            if status == 302:
                state.installed = True
            return self._send(status, body, headers, content_type="text/plain; charset=utf-8")
        return self._not_found()

    def _picture(self, name: str) -> None:
        """A product picture for the offline demo: a calm colour block derived from the file name."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        hue = int(digest[:4], 16) % 360
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 500">'
               f'<rect width="400" height="500" fill="hsl({hue},35%,82%)"/>'
               f'<circle cx="200" cy="230" r="110" fill="hsl({hue},45%,60%)"/>'
               f'<rect x="90" y="380" width="220" height="40" rx="8" fill="hsl({hue},40%,45%)"/></svg>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml")
        self.send_header("Content-Length", str(len(svg)))
        self.send_header("Cache-Control", "public, max-age=86400")
        self.end_headers()
        self.wfile.write(svg)

    def do_POST(self) -> None:  # noqa: N802
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # a stand-in bug: answer 500 like a Shopify outage, and say why in the log
            log.exception("stand-in error on POST %s", self.path)
            self._send(500, {"errors": "Internal Server Error"})

    def _post(self) -> None:
        body = self._read_body()
        if body is None:
            return None
        state = self._shop()
        if state is None:
            return self._not_found()
        path = urlsplit(self.path).path
        if path == "/admin/oauth/access_token":
            return self._access_token(state, body)
        m = _GRAPHQL_PATH.match(path)
        if m:
            return self._graphql(state, m.group("version"), body)
        return self._not_found()

    def _access_token(self, state: ShopState, body: bytes) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        # Shopify's docs pass the code grant's params in the query string; libraries send JSON or a form body.
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        try:
            if ctype == "application/json":
                decoded = json.loads(body or b"{}")
                if not isinstance(decoded, dict):
                    raise ValueError("JSON object expected")
                params.update(decoded)
            else:
                params.update({k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
        except (ValueError, UnicodeDecodeError):
            return self._send(400, {"error": "invalid_request", "error_description": "Malformed request body"})
        try:
            result = self.owner.oauth.access_token(state.domain, params)
        except OAuthError as err:
            return self._send(err.status, err.body())
        state.installed = True
        return self._send(200, result)

    def _graphql(self, state: ShopState, version: str, body: bytes) -> None:
        token = self.owner.oauth.check(state.domain, self.headers.get("X-Shopify-Access-Token"))
        if token is None:
            return self._send(401, UNAUTHORIZED)
        if state.injected_failures:
            status = state.injected_failures.popleft()
            headers = {"Retry-After": "1"} if status == 429 else {}
            return self._send(status, {"errors": "Exceeded rate limit" if status == 429 else "Service unavailable"},
                              headers)
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("JSON object expected")
        except (ValueError, UnicodeDecodeError):
            return self._send(400, {"errors": {"query": "Required parameter missing or invalid"}})
        state.graphql_requests += 1
        state.api_versions.add(version)
        return self._send(200, graphql_response(state, request, set(token.scopes), version))

    def _bulk_result(self, m: re.Match[str]) -> None:
        state = self.owner.shops.get(m.group("shop"))
        op = state.bulk.by_secret(int(m.group("number")), m.group("secret")) if state else None
        if state is None or op is None or op.status != "COMPLETED":
            return self._send(403, b"<Error><Code>AccessDenied</Code></Error>", content_type="application/xml")
        op.downloads += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in _batched(jsonl_lines(state, op.root, grouped=op.grouped, seed=op.seed), 64 * 1024):
            self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        return None


def _batched(lines: Iterator[bytes], size: int) -> Iterator[bytes]:
    buf: list[bytes] = []
    n = 0
    for line in lines:
        buf.append(line)
        n += len(line)
        if n >= size:
            yield b"".join(buf)
            buf, n = [], 0
    if buf:
        yield b"".join(buf)
