"""A WooCommerce store over real HTTP: REST API v3, wc-auth key approval, and signed webhook deliveries.

What it enforces, as WooCommerce does (class-wc-rest-authentication.php, class-wc-auth.php, class-wc-webhook.php):
- Over https: HTTP Basic (or consumer_key/consumer_secret query parameters). Over http: only OAuth 1.0a query
  signatures (HMAC-SHA1/256, timestamp within 15 minutes, nonce used once); Basic over http is ignored, so the
  request is anonymous and refused with 401. A read-only key cannot write.
- Pagination: `page`, `per_page` (1..100, else 400), `X-WP-Total`/`X-WP-TotalPages` headers and a `Link` header.
  `modified_after` filters products and orders (customers ignore it, as WooCommerce does), `orderby`/`order`.
- wc-auth: /wc-auth/v1/authorize validates its parameters (callback_url must be https), the approve link creates
  a key and POSTs it as JSON to the callback; only a 200 from the callback keeps the key, then the merchant is sent
  to return_url with success=1&user_id=...
- Webhooks: CRUD under /webhooks; creating an active webhook sends the `webhook_id=<id>` ping; every delivery is
  signed (X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body with the webhook's secret), carries a delivery id,
  and is retried with the same id until the receiver answers 2xx; after 5 failed deliveries in a row the webhook is
  disabled.

Not WooCommerce, but what hosts in front of it do: a token-bucket rate limit per key answering 429 + Retry-After.
Test knobs: `fail_next(n, status)` injects server errors; `allow_http_callback_on_loopback` lets the wc-auth
callback go to http://127.0.0.1 (Django's live_server speaks plain HTTP; a real store would refuse it).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import math
import queue
import re
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse
from zoneinfo import ZoneInfo

import requests

from . import oauth1
from .store import Store, StoreSize, iso

API_PREFIX = "/wp-json/wc/v3/"
WEBHOOK_TOPICS = {f"{r}.{e}" for r in ("product", "order", "customer", "coupon")
                  for e in ("created", "updated", "deleted", "restored")}
MAX_DELIVERY_FAILURES = 5
# rest_parse_date(): what a `format: date-time` argument must look like to pass WordPress's REST validation.
REST_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::\d{2})?)?$")
# WC_Data::set_date_prop(): only this shape carries its own offset; any other string is the site's local time.
WC_ISO8601 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|((-|\+)\d{2}:\d{2}))$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class ApiKey:
    key_id: int
    user_id: str
    consumer_key: str
    consumer_secret: str
    permissions: str
    description: str
    nonces: dict = field(default_factory=dict)  # timestamp -> the last nonce used in that second


@dataclass
class Delivery:
    delivery_id: str
    webhook_id: int
    topic: str
    body: bytes
    headers: dict
    attempts: list = field(default_factory=list)  # response codes (0: connection failed)

    @property
    def delivered(self) -> bool:
        return any(200 <= code < 300 for code in self.attempts)


class TokenBucket:
    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity, self.rate = capacity, per_second
        self.tokens, self.at = capacity, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when allowed; otherwise the seconds until a token is back."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class WooStandin:
    """Start with `with WooStandin() as store:`; `store.url` is the shop's home URL."""

    def __init__(self, size: StoreSize | None = None, seed: int = 7, tls: bool = False,
                 rate_limit: tuple[float, float] | None = None, allow_http_callback_on_loopback: bool = True,
                 retry_delays: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0), app_name_required: str = "") -> None:
        self.tls = tls
        # WordPress's Settings > General > Timezone: local dates (date_expires, date_created) are in it.
        self.timezone = ZoneInfo("Europe/Madrid")
        self.rate_limit = rate_limit
        self.allow_http_callback_on_loopback = allow_http_callback_on_loopback
        self.retry_delays = retry_delays
        self.app_name_required = app_name_required
        self.store = Store(size, seed)
        self.keys: dict[str, ApiKey] = {}
        self.webhooks: dict[int, dict] = {}
        self.coupons: dict[int, dict] = {}  # created through POST /coupons (popup code pools)
        self.deliveries: list[Delivery] = []
        self.pings: list[tuple[int, int]] = []  # (webhook id, response code)
        self.callbacks: list[tuple[str, int]] = []  # (callback url, response code) of wc-auth key posts
        self.requests_log: list[tuple[str, str, int]] = []  # (method, path?query, status)
        self.buckets: dict[str, TokenBucket] = {}
        self.throttled = 0
        self._faults: list[int] = []
        self._ids = itertools.count(1)
        self._auth_nonces: set[str] = set()
        # WordPress users whose keys authenticate but who may not edit customers (no `edit_users`): a shop
        # manager demoted, say. WooCommerce's permission check answers them woocommerce_rest_cannot_edit.
        self.users_who_cannot_edit: set[str] = set()
        self._meta_ids = itertools.count(9001)
        self._lock = threading.RLock()
        self._outbox: queue.Queue = queue.Queue()
        self._modified_cache: dict[tuple[str, int], str] = {}
        self.store.listeners.append(self._on_change)
        self.wp_salt = secrets.token_bytes(16)
        self.cert_file: str | None = None
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> WooStandin:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        if self.tls:
            self.cert_file = _self_signed_cert()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert_file)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.store.base_url = self.url
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="woo-standin",
                         daemon=True).start()
        threading.Thread(target=self._deliver_loop, name="woo-standin-webhooks", daemon=True).start()
        return self

    def stop(self) -> None:
        self._outbox.put(None)
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WooStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc

    # --- test knobs -----------------------------------------------------------------------------------------

    def create_key(self, permissions: str = "read_write", user_id: str = "1", description: str = "test") -> ApiKey:
        with self._lock:
            key = ApiKey(next(self._ids), user_id, "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20),
                         permissions, description)
            self.keys[key.consumer_key] = key
            return key

    def revoke_key(self, consumer_key: str) -> None:
        with self._lock:
            self.keys.pop(consumer_key, None)

    def our_keys(self, prefix: str = "Personalize - API") -> list[ApiKey]:
        return [k for k in self.keys.values() if k.description.startswith(prefix)]

    def handle_wpdb(self, method: str, path: str) -> tuple[int, object]:
        """The woocommerce_api_keys table as a plugin running inside this store reads it (the PHP test harness's
        $wpdb): WooCommerce keeps consumer secrets there in clear. A test surface, not WooCommerce's REST API."""
        m = re.fullmatch(r"/__wp/woocommerce_api_keys(?:/(\d+))?", path)
        if m is None:
            return 404, {"code": "not_found"}
        if method == "GET" and m[1] is None:
            return 200, [{"key_id": k.key_id, "user_id": k.user_id, "description": k.description,
                          "permissions": k.permissions, "consumer_secret": k.consumer_secret,
                          "truncated_key": k.consumer_key[-7:]} for k in self.keys.values()]
        if method == "DELETE" and m[1] is not None:
            with self._lock:
                gone = [ck for ck, k in self.keys.items() if k.key_id == int(m[1])]
                for ck in gone:
                    del self.keys[ck]
            return 200, {"deleted": len(gone)}
        return 405, {"code": "method_not_allowed"}

    def fail_next(self, n: int, status: int = 500) -> None:
        """The next n API requests fail with `status` (a crashed PHP worker, an overloaded host)."""
        with self._lock:
            self._faults.extend([status] * n)

    def api_requests(self, path_prefix: str = "") -> list[tuple[str, str, int]]:
        return [r for r in self.requests_log if r[1].startswith(API_PREFIX + path_prefix)]

    def wait_deliveries(self, timeout: float = 10.0) -> None:
        """Block until every queued webhook delivery succeeded or gave up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._outbox.unfinished_tasks == 0:
                return
            time.sleep(0.02)
        raise TimeoutError("webhook deliveries still pending")

    def redeliver(self, delivery: Delivery) -> int:
        """Send a past delivery again, byte for byte (what WooCommerce's "resend" and network retries do)."""
        hook = self.webhooks[delivery.webhook_id]
        return self._post(hook["delivery_url"], delivery.body, delivery.headers)

    # --- webhooks -------------------------------------------------------------------------------------------

    def _on_change(self, topic: str, payload: dict) -> None:
        resource = topic.split(".")[0]
        for hook in list(self.webhooks.values()):
            if hook["status"] == "active" and hook["topic"] in {topic, f"{resource}.*", "action.*"}:
                self._queue_delivery(hook, topic, payload)

    def _queue_delivery(self, hook: dict, topic: str, payload: dict) -> Delivery:
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(hook["_secret"].encode(), body, hashlib.sha256).digest()).decode()
        resource, event = topic.split(".")
        delivery = Delivery(
            delivery_id=self.delivery_id_for(hook["id"]),
            webhook_id=hook["id"], topic=topic, body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/11.0.1 Hookshot (WordPress/6.8.2)",
                "X-WC-Webhook-Source": self.url + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature,
                "X-WC-Webhook-ID": str(hook["id"]),
            },
        )
        delivery.headers["X-WC-Webhook-Delivery-ID"] = delivery.delivery_id
        with self._lock:
            self.deliveries.append(delivery)
        self._outbox.put(delivery)
        return delivery

    def delivery_id_for(self, webhook_id: int) -> str:
        """WC_Webhook::get_new_delivery_id(): wp_hash( webhook id . strtotime( 'now' ) ). Two deliveries of one
        webhook in the same second share an id, whatever their bodies."""
        return hmac.new(self.wp_salt, f"{webhook_id}{int(time.time())}".encode(), hashlib.md5).hexdigest()

    def _deliver_loop(self) -> None:
        while True:
            delivery = self._outbox.get()
            if delivery is None:
                self._outbox.task_done()
                return
            try:
                self._deliver(delivery)
            finally:
                self._outbox.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        hook = self.webhooks.get(delivery.webhook_id)
        for delay in (0.0, *self.retry_delays):
            if hook is None or hook["status"] != "active":
                return
            time.sleep(delay)
            code = self._post(hook["delivery_url"], delivery.body, delivery.headers)
            delivery.attempts.append(code)
            if 200 <= code < 300:
                hook["_failures"] = 0
                return
            hook["_failures"] = hook.get("_failures", 0) + 1
            if hook["_failures"] > MAX_DELIVERY_FAILURES:
                hook["status"] = "disabled"

    @staticmethod
    def _post(url: str, body: bytes, headers: dict, timeout: float = 10) -> int:
        try:
            return requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False).status_code
        except requests.RequestException:
            return 0

    # --- auth -----------------------------------------------------------------------------------------------

    def authenticate(self, method: str, path: str, query: dict[str, str], headers) -> ApiKey:  # noqa: ANN001
        key: ApiKey | None = None
        if self.tls:
            auth = headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    user, password = "", ""
            else:
                user, password = query.get("consumer_key", ""), query.get("consumer_secret", "")
            if user or password:
                key = self.keys.get(user)
                if key is None:
                    raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
                if not hmac.compare_digest(key.consumer_secret, password):
                    raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
                return key
        if "oauth_consumer_key" in query:
            key = self.keys.get(query["oauth_consumer_key"])
            if key is None:
                raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            for param in ("oauth_signature", "oauth_signature_method", "oauth_nonce", "oauth_timestamp"):
                if not query.get(param):
                    raise ApiError(401, "woocommerce_rest_authentication_error", f"{param} parameter is missing.")
            problem = oauth1.verify(method, self.url + path, query, key.consumer_secret)
            if problem:
                raise ApiError(401, "woocommerce_rest_authentication_error", problem)
            try:
                ts = int(query["oauth_timestamp"])
            except ValueError:
                ts = 0
            if abs(time.time() - ts) > oauth1.TIMESTAMP_WINDOW:
                raise ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
            with self._lock:
                # As WooCommerce stores them: one nonce per timestamp second, forgotten after the window.
                if query["oauth_nonce"] in key.nonces.values():
                    raise ApiError(401, "woocommerce_rest_authentication_error",
                                   "Invalid nonce - nonce has already been used.")
                key.nonces[ts] = query["oauth_nonce"]
                for old in [t for t in key.nonces if t < time.time() - oauth1.TIMESTAMP_WINDOW]:
                    del key.nonces[old]
            return key
        raise ApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def throttle(self, who: str) -> None:
        if not self.rate_limit:
            return
        bucket = self.buckets.setdefault(who, TokenBucket(*self.rate_limit))
        wait = bucket.take()
        if wait:
            self.throttled += 1
            raise ApiError(429, "rest_too_many_requests", "Too many requests.",
                           {"Retry-After": str(max(1, math.ceil(wait)))})

    # --- REST -----------------------------------------------------------------------------------------------

    def handle_api(self, method: str, route: str, query: dict[str, str], body: bytes, headers) -> tuple:  # noqa: ANN001
        with self._lock:
            if self._faults:
                status = self._faults.pop(0)
                raise ApiError(status, "internal_server_error", "There has been a critical error on this website.")
        key = self.authenticate(method, API_PREFIX + route, query, headers)
        self.throttle(key.consumer_key)
        # WC_REST_Authentication::check_permissions: a key's read/write permission, before any controller.
        if method != "GET" and key.permissions == "read":
            raise ApiError(401, "woocommerce_rest_authentication_error",
                           "The API key provided does not have write permissions.")
        if method == "GET" and key.permissions == "write":
            raise ApiError(401, "woocommerce_rest_authentication_error",
                           "The API key provided does not have read permissions.")
        data = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.") from exc
        s = self.store
        m = re.fullmatch(r"products/(\d+)/variations", route)
        if method == "GET" and m:
            if s.get_product(int(m[1])) is None:
                raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return self._page(s.get_variations(int(m[1])), query)
        if method == "GET" and route == "variations":
            return self._variations(query)
        if method == "GET" and route == "products/categories":
            return self._page(list(s.categories.values()), query)
        if method == "GET" and route == "products/tags":
            return self._page(list(s.tags.values()), query)
        m = re.fullmatch(r"customers/(\d+)", route)
        if m and method in {"PUT", "POST", "PATCH"}:
            return self._update_customer(key, int(m[1]), data)
        for resource, getter in (("products", s.get_product), ("customers", s.get_customer),
                                 ("orders", s.get_order)):
            if method == "GET" and route == resource:
                return self._list(resource, query)
            m = re.fullmatch(rf"{resource}/(\d+)", route)
            if method == "GET" and m:
                rec = getter(int(m[1]))
                if rec is None:
                    raise ApiError(404, f"woocommerce_rest_{resource[:-1]}_invalid_id", "Invalid ID.")
                return 200, rec, {}
        if route == "system_status" and method == "GET":
            return 200, {"environment": {"home_url": self.url, "site_url": self.url, "version": "11.0.1",
                                         "wp_version": "6.8.2", "language": "es_ES"},
                         "settings": {"currency": s.currency, "currency_symbol": "€",
                                      "currency_position": "right_space"}}, {}
        if route == "data/currencies/current" and method == "GET":
            return 200, {"code": s.currency, "name": "Euro", "symbol": "€"}, {}
        if route == "coupons" and method == "POST":
            return self._create_coupon(data)
        if route == "coupons" and method == "GET":
            coupons = [c for c in self.coupons.values() if c["status"] != "trash"]
            if query.get("include"):
                wanted = {int(i) for i in query["include"].split(",") if i.strip().isdigit()}
                coupons = [c for c in coupons if c["id"] in wanted]
            if query.get("code"):
                coupons = [c for c in coupons if c["code"] == query["code"].lower()]
            return self._page(coupons, query)
        if route == "coupons/batch" and method in {"POST", "PUT"}:
            return self._coupon_batch(data)
        m = re.fullmatch(r"coupons/(\d+)", route)
        if m:
            return self._coupon_route(method, int(m[1]), query)
        if route == "webhooks":
            if method == "GET":
                return self._page([self._public_hook(h) for h in self.webhooks.values()], query)
            if method == "POST":
                return self._create_webhook(data)
        m = re.fullmatch(r"webhooks/(\d+)", route)
        if m:
            hook = self.webhooks.get(int(m[1]))
            if hook is None:
                raise ApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
            if method == "GET":
                return 200, self._public_hook(hook), {}
            if method in {"PUT", "POST"}:
                for k in ("name", "status", "delivery_url"):
                    if k in data:
                        hook[k] = str(data[k])
                if "secret" in data:
                    hook["_secret"] = str(data["secret"])
                return 200, self._public_hook(hook), {}
            if method == "DELETE":
                if query.get("force") not in {"true", "1"}:
                    raise ApiError(501, "woocommerce_rest_trash_not_supported",
                                   "Webhooks do not support trashing.")
                with self._lock:
                    self.webhooks.pop(hook["id"], None)
                return 200, self._public_hook(hook), {}
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _update_customer(self, key: ApiKey, cid: int, data: dict) -> tuple:
        """PUT /customers/<id> as WC_REST_Customers_Controller does it: the user behind the key must be allowed
        to edit users (else 403 woocommerce_rest_cannot_edit), the id must be a customer (else 400 "Invalid
        resource ID."), and `meta_data` entries update by key (or by meta id), leaving every other meta entry as
        it was: protected keys (a leading underscore) are skipped, and a null value deletes the entry
        (WC_Data::save_meta_data). Name fields are applied; other fields this stand-in does not model are ignored."""
        if key.user_id in self.users_who_cannot_edit:
            raise ApiError(403, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
        if not isinstance(data, dict):
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
        with self._lock:
            current = self.store.get_customer(cid)
            if current is None:
                raise ApiError(400, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            meta = [dict(m) for m in current.get("meta_data") or []]
            updates = data.get("meta_data", [])
            if not isinstance(updates, list) or not all(
                    isinstance(u, dict) and isinstance(u.get("key"), str) and u["key"] for u in updates):
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): meta_data")
            for update in updates:
                self._apply_meta(meta, update)
            fields = {k: str(data[k]) for k in ("first_name", "last_name") if isinstance(data.get(k), str)}
            updated = self.store.update_customer(cid, meta_data=meta, **fields)
        return 200, updated, {}

    def _apply_meta(self, meta: list[dict], update: dict) -> None:
        """WC_Data::update_meta_data then save_meta_data, on one customer's list."""
        meta_key, value = update["key"], update.get("value")
        if meta_key.startswith("_"):
            return  # is_protected_meta(): the REST controller skips internal keys
        if "id" in update:
            same = [m for m in meta if m["id"] == update["id"]]
        else:
            same = [m for m in meta if m["key"] == meta_key]
            for extra in same[1:]:  # update_meta_data by key keeps one entry and deletes the others
                meta.remove(extra)
            same = same[:1]
        if value is None:
            for m in same:
                meta.remove(m)
        elif same:
            same[0].update(key=meta_key, value=value)
        elif "id" not in update:
            meta.append({"id": next(self._meta_ids), "key": meta_key, "value": value})

    def _create_coupon(self, data: dict) -> tuple:
        """POST /coupons as WooCommerce validates it: a code unique in the store (case-insensitive), a known
        discount_type, a numeric amount (a percent at most 100).

        Dates as WC_REST_Coupons_Controller stores them: every field goes through `set_{key}()` when WC_Coupon has
        one, so `date_expires` is kept and `date_expires_gmt` (in the schema, validated) is dropped silently. The
        kept string goes through WC_Data::set_date_prop: with `Z` or `+hh:mm` it is exact; without, it is read in
        the site's timezone (WordPress's timezone_string)."""
        code = str(data.get("code") or "").strip()
        if not code:
            raise ApiError(400, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.")
        if code.lower() in {c["code"] for c in self.coupons.values() if c["status"] != "trash"}:
            raise ApiError(400, "woocommerce_rest_coupon_code_already_exists",
                           f"The coupon code {code} already exists")
        kind = str(data.get("discount_type") or "fixed_cart")
        if kind not in {"percent", "fixed_cart", "fixed_product"}:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): discount_type")
        try:
            amount = float(data.get("amount") or 0)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): amount") from exc
        if amount < 0 or (kind == "percent" and amount > 100):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): amount")
        for field_name in ("date_expires", "date_expires_gmt"):
            if data.get(field_name) is not None and not REST_DATE.match(str(data[field_name])):
                raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {field_name}")
        expires = self._set_date_prop(data.get("date_expires"))
        now = iso(datetime.now(UTC))
        with self._lock:
            coupon = {"id": next(self._ids), "code": code.lower(), "amount": f"{amount:.2f}", "status": "publish",
                      "date_created": self._local(datetime.now(UTC)), "date_created_gmt": now,
                      "discount_type": kind, "description": str(data.get("description") or ""),
                      "date_expires": self._local(expires) if expires else None,
                      "date_expires_gmt": iso(expires) if expires else None, "usage_count": 0,
                      "usage_limit": data.get("usage_limit"), "usage_limit_per_user": data.get("usage_limit_per_user"),
                      "individual_use": bool(data.get("individual_use")),
                      "free_shipping": bool(data.get("free_shipping")), "used_by": []}
            self.coupons[coupon["id"]] = coupon
        return 201, coupon, {}

    def _set_date_prop(self, value: object) -> datetime | None:
        if value in (None, "", "0000-00-00 00:00:00"):
            return None
        text = str(value)
        m = WC_ISO8601.match(text)
        if m:
            naive = datetime(*(int(m[i]) for i in range(1, 7)))
            offset = m[7]
            tz = UTC if offset == "Z" else timezone(
                (-1 if offset[0] == "-" else 1) * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
            return naive.replace(tzinfo=tz).astimezone(UTC)
        naive = datetime.fromisoformat(text.replace(" ", "T").rstrip("Z")[:19])
        return naive.replace(tzinfo=self.timezone).astimezone(UTC)

    def _local(self, dt: datetime) -> str:
        return dt.astimezone(self.timezone).replace(tzinfo=None, microsecond=0).isoformat()

    def use_coupon(self, code: str) -> dict:
        """A shopper redeemed the coupon at checkout (usage_count goes up, as an order with it does)."""
        with self._lock:
            coupon = next(c for c in self.coupons.values() if c["code"] == code.lower())
            coupon["usage_count"] += 1
            return coupon

    def _coupon_batch(self, data: dict) -> tuple:
        """POST /coupons/batch: only `delete` (WooCommerce deletes batch items for good, as with force=true); at
        most 100 items, as WC_REST_Controller::check_batch_limit allows by default."""
        ids = data.get("delete") or []
        if not isinstance(ids, list) or len(ids) > 100:
            raise ApiError(413, "woocommerce_rest_request_entity_too_large",
                           "Unable to accept more than 100 items for this request.")
        out = []
        for raw in ids:
            try:
                out.append(self._coupon_route("DELETE", int(raw), {"force": "true"})[1])
            except (ApiError, TypeError, ValueError) as exc:
                err = exc if isinstance(exc, ApiError) else ApiError(400, "rest_invalid_param", "Invalid ID.")
                out.append({"id": raw, "error": {"code": err.code, "message": err.message,
                                                 "data": {"status": err.status}}})
        return 200, {"delete": out}, {}

    def _coupon_route(self, method: str, coupon_id: int, query: dict[str, str]) -> tuple:
        coupon = self.coupons.get(coupon_id)
        if coupon is None:
            raise ApiError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        if method == "GET":
            return 200, coupon, {}
        if method == "DELETE":
            with self._lock:
                if query.get("force") in {"true", "1"}:
                    self.coupons.pop(coupon_id, None)
                    return 200, coupon, {}
                if coupon["status"] == "trash":
                    raise ApiError(410, "woocommerce_rest_already_trashed", "The coupon has already been deleted.")
                coupon["status"] = "trash"
                return 200, coupon, {}
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _create_webhook(self, data: dict) -> tuple:
        topic = str(data.get("topic", ""))
        url = str(data.get("delivery_url", ""))
        if topic not in WEBHOOK_TOPICS:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): topic")
        if urlparse(url).scheme not in {"http", "https"}:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        now = iso(datetime.now(UTC))
        with self._lock:
            hook = {"id": next(self._ids), "name": str(data.get("name") or f"Webhook created on {now}"),
                    "status": str(data.get("status") or "active"), "topic": topic,
                    "resource": topic.split(".")[0], "event": topic.split(".")[1], "hooks": [],
                    "delivery_url": url, "date_created": now, "date_created_gmt": now, "date_modified": now,
                    "date_modified_gmt": now, "_secret": str(data.get("secret") or secrets.token_hex(16))}
            self.webhooks[hook["id"]] = hook
        if hook["status"] == "active":
            code = self._post(url, f"webhook_id={hook['id']}".encode(),
                              {"Content-Type": "application/x-www-form-urlencoded",
                               "User-Agent": "WooCommerce/11.0.1 Hookshot (WordPress/6.8.2)"})
            self.pings.append((hook["id"], code))
        return 201, self._public_hook(hook), {}

    @staticmethod
    def _public_hook(hook: dict) -> dict:
        return {k: v for k, v in hook.items() if not k.startswith("_")}

    def _ts(self, resource: str, rid: int) -> str:
        overrides = {"products": self.store.product_overrides, "customers": self.store.customer_overrides,
                     "orders": self.store.order_overrides}[resource]
        if rid in overrides:
            return overrides[rid]["date_modified_gmt"]
        cached = self._modified_cache.get((resource, rid))
        if cached is None:
            cached = self._modified_cache[(resource, rid)] = self.store.modified_ts(resource, rid)
        return cached

    def _list(self, resource: str, query: dict[str, str]) -> tuple:
        s = self.store
        ids = {"products": s.product_ids, "customers": s.customer_ids, "orders": s.order_ids}[resource]()
        getter = {"products": s.get_product, "customers": s.get_customer, "orders": s.get_order}[resource]
        if query.get("include"):
            wanted = {int(i) for i in query["include"].split(",") if i.strip().isdigit()}
            ids = [i for i in ids if i in wanted]
        after = query.get("modified_after")
        if after and resource != "customers":  # WooCommerce's customers endpoint has no modified_after
            try:
                cutoff = iso(datetime.fromisoformat(after.replace("Z", "+00:00")).replace(tzinfo=UTC))
            except ValueError as exc:
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): modified_after") from exc
            ids = [i for i in ids if self._ts(resource, i) > cutoff]
        orderby = query.get("orderby", "id" if resource == "customers" else "date")
        desc = query.get("order", "asc" if resource == "customers" else "desc") == "desc"
        if orderby == "modified":
            ids = sorted(ids, key=lambda i: (self._ts(resource, i), i), reverse=desc)
        elif orderby in {"id", "date", "include"}:  # generated ids grow with creation dates
            ids = sorted(ids, reverse=desc)
        else:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        return self._page(ids, query, load=getter)

    def _variations(self, query: dict[str, str]) -> tuple:
        """GET /variations (WooCommerce 10.3+, WC_REST_Variations_Controller): every variation, with parent_id,
        filtered by modified_after like the other CRUD collections. Saving a variation leaves its parent's
        date_modified alone, so this is the only listing in which a variation-only change shows."""
        s = self.store
        items = [v for pid in s.product_ids() for v in s.get_variations(pid)]
        after = query.get("modified_after")
        if after:
            try:
                cutoff = iso(datetime.fromisoformat(after.replace("Z", "+00:00")).replace(tzinfo=UTC))
            except ValueError as exc:
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): modified_after") from exc
            items = [v for v in items if v["date_modified_gmt"] > cutoff]
        if query.get("orderby", "date") == "modified":
            items.sort(key=lambda v: (v["date_modified_gmt"], v["id"]), reverse=query.get("order") == "desc")
        else:
            items.sort(key=lambda v: v["id"], reverse=query.get("order", "desc") == "desc")
        return self._page(items, query)

    @staticmethod
    def _page(items: list, query: dict[str, str], load: Callable | None = None) -> tuple:
        try:
            per_page = int(query.get("per_page", "10"))
            page = int(query.get("page", "1"))
        except ValueError as exc:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): page, per_page") from exc
        if not 1 <= per_page <= 100 or page < 1:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        total = len(items)
        pages = math.ceil(total / per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        if load is not None:
            chunk = [r for r in (load(i) for i in chunk) if r is not None]
        if page > max(pages, 1):
            raise ApiError(400, "woocommerce_rest_invalid_page_number",
                           "The page number requested is larger than the number of pages available.")
        return 200, chunk, {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}

    # --- wc-auth --------------------------------------------------------------------------------------------

    def handle_auth(self, route: str, query: dict[str, str]) -> tuple[int, str, dict]:
        required = ("app_name", "scope", "user_id", "return_url", "callback_url")
        missing = [p for p in required if not query.get(p)]
        if missing:
            return 400, _page("Error", f"Missing parameter {html.escape(missing[0])}"), {}
        if query["scope"] not in {"read", "write", "read_write"}:
            return 400, _page("Error", "Invalid scope " + html.escape(query["scope"])), {}
        callback = urlparse(query["callback_url"])
        loopback_http = (self.allow_http_callback_on_loopback and callback.scheme == "http"
                         and callback.hostname in {"127.0.0.1", "localhost"})
        if callback.scheme != "https" and not loopback_http:
            return 400, _page("Error", "The callback_url needs to be over SSL"), {}
        if self.app_name_required and query["app_name"] != self.app_name_required:
            return 400, _page("Error", "Unknown app"), {}
        params = {p: query[p] for p in required}
        if route == "authorize":
            nonce = secrets.token_hex(8)
            self._auth_nonces.add(nonce)
            approve = "/wc-auth/v1/access_granted?" + urlencode({**params, "wc_auth_nonce": nonce})
            deny = "/wc-auth/v1/access_denied?" + urlencode(params)
            body = (f"<p><strong>{html.escape(params['app_name'])}</strong> would like to connect to your store"
                    f" with {html.escape(params['scope'])} access.</p>"
                    f'<a class="wc-auth-approve" href="{html.escape(approve)}">Approve</a> '
                    f'<a class="wc-auth-deny" href="{html.escape(deny)}">Deny</a>')
            return 200, _page("Connect", body), {}
        sep = "&" if "?" in params["return_url"] else "?"
        if route == "access_denied":
            back = params["return_url"] + sep + urlencode({"success": 0, "user_id": params["user_id"]})
            return 302, "", {"Location": back}
        if route == "access_granted":
            nonce = query.get("wc_auth_nonce", "")
            if nonce not in self._auth_nonces:
                return 403, _page("Error", "Invalid nonce"), {}
            self._auth_nonces.discard(nonce)
            key = self.create_key(params["scope"], params["user_id"],
                                  f"{params['app_name'][:170]} - API ({iso(datetime.now(UTC))})")
            payload = {"key_id": key.key_id, "user_id": params["user_id"], "consumer_key": key.consumer_key,
                       "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}
            # WC_Auth::post_consumer_data waits up to 60 seconds for the app's answer.
            code = self._post(params["callback_url"], json.dumps(payload).encode(),
                              {"Content-Type": "application/json"}, timeout=60)
            self.callbacks.append((params["callback_url"], code))
            if code != 200:
                self.revoke_key(key.consumer_key)
                return 401, _page("Error", "An error occurred in the request and at the time were unable to send "
                                           "the consumer data"), {}
            back = params["return_url"] + sep + urlencode({"success": 1, "user_id": params["user_id"]})
            return 302, "", {"Location": back}
        return 404, _page("Error", "Bad request"), {}


def _page(title: str, body: str) -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


def _self_signed_cert() -> str:
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = Path(tempfile.mkdtemp(prefix="woo-standin-")) / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(path)


class _Handler(BaseHTTPRequestHandler):
    standin: WooStandin
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this, Nagle + delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by design
        pass

    def _handle(self, method: str) -> None:
        parsed = urlparse(self.path)
        # PHP's $_GET: repeated keys keep the last value (the python client repeats its query parameters).
        query = dict(parse_qsl(parsed.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parsed.path
        sd = self.standin
        if path.startswith("/wc-auth/v1/") and method == "GET":
            status, page, headers = sd.handle_auth(path.removeprefix("/wc-auth/v1/"), query)
            sd.requests_log.append((method, self.path, status))
            return self._send(status, page.encode(), "text/html; charset=UTF-8", headers)
        if path.startswith("/__wp/"):
            status, data = sd.handle_wpdb(method, path)
            return self._send(status, json.dumps(data).encode(), "application/json; charset=UTF-8", {})
        if not path.startswith(API_PREFIX):
            return self._send(404, b"Not found", "text/plain", {})
        try:
            status, data, headers = sd.handle_api(method, path.removeprefix(API_PREFIX).rstrip("/"), query, body,
                                                  self.headers)
        except ApiError as err:
            status, data, headers = err.status, {"code": err.code, "message": err.message,
                                                 "data": {"status": err.status}}, err.headers
        if "X-WP-TotalPages" in headers:
            page, pages = int(query.get("page", "1")), int(headers["X-WP-TotalPages"])
            base = sd.url + path
            links = []
            if page > 1:
                links.append(f'<{base}?{urlencode({**_plain(query), "page": page - 1})}>; rel="prev"')
            if page < pages:
                links.append(f'<{base}?{urlencode({**_plain(query), "page": page + 1})}>; rel="next"')
            if links:
                headers["Link"] = ", ".join(links)
        sd.requests_log.append((method, self.path.split("&oauth_")[0], status))
        self._send(status, json.dumps(data).encode(), "application/json; charset=UTF-8", headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


def _plain(query: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in query.items() if not k.startswith("oauth_") and k not in {"consumer_key",
                                                                                      "consumer_secret"}}


__all__ = ["WooStandin", "StoreSize", "ApiKey", "Delivery"]
