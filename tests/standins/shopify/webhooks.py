"""Webhook deliveries as Shopify makes them, and the REST-shaped payloads it sends.

A delivery is an HTTPS POST of the JSON payload with the headers X-Shopify-Topic, X-Shopify-Hmac-Sha256 (base64
HMAC-SHA256 of the raw body keyed with the app secret), X-Shopify-Shop-Domain, X-Shopify-API-Version,
X-Shopify-Webhook-Id, X-Shopify-Event-Id and X-Shopify-Triggered-At. Anything but a 2xx within `timeout`
seconds (Shopify: 5) is retried after each delay of `retry_delays` (Shopify: 8 retries over 4 hours; tests pass
small delays), keeping the same webhook id and event id. Every attempt is recorded on the `Delivery`.
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from .store import (
    CUSTOMER_BASE,
    INVENTORY_ITEM_BASE,
    LOCATIONS,
    ORDER_BASE,
    PRODUCT_BASE,
    VARIANT_BASE,
    Store,
    gid,
    iso,
)

log = logging.getLogger("standins.shopify")

# Shopify: up to 8 retries over the next 4 hours after a failed delivery.
SHOPIFY_RETRY_DELAYS = (60.0, 120.0, 300.0, 600.0, 1200.0, 2400.0, 4200.0, 5700.0)


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Attempt:
    at: float
    status: int | None  # None: no answer (timeout, connection refused)
    error: str = ""
    duration: float = 0.0


@dataclass
class Delivery:
    topic: str
    shop: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    webhook_id: str
    event_id: str
    url: str
    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def statuses(self) -> list[int | None]:
        return [a.status for a in self.attempts]


class WebhookDispatcher:
    """Queues deliveries, posts them from a small worker pool, schedules retries."""

    def __init__(self, secret: str, api_version: str, *, timeout: float = 5.0,
                 retry_delays: tuple[float, ...] = SHOPIFY_RETRY_DELAYS, http_client: httpx.Client | None = None
                 ) -> None:
        self.secret = secret
        self.api_version = api_version
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.client = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.deliveries: list[Delivery] = []
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="standin-webhook")
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="standin-webhook-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def send(self, url: str, shop: str, topic: str, payload: dict[str, Any], *, event_id: str | None = None,
             webhook_id: str | None = None, triggered_at: datetime | None = None, secret: str | None = None,
             delay: float = 0.0) -> Delivery:
        body = json.dumps(payload, default=_json_default).encode()
        when = (triggered_at or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        webhook_id = webhook_id or str(uuid.uuid4())
        event_id = event_id or str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                   "X-Shopify-Hmac-Sha256": sign(body, secret or self.secret), "X-Shopify-Shop-Domain": shop,
                   "X-Shopify-API-Version": self.api_version, "X-Shopify-Webhook-Id": webhook_id,
                   "X-Shopify-Event-Id": event_id, "X-Shopify-Triggered-At": when,
                   "User-Agent": "Shopify-Captain-Hook"}
        delivery = Delivery(topic, shop, payload, body, headers, webhook_id, event_id, url)
        with self._cv:
            self.deliveries.append(delivery)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), delivery))
            self._cv.notify()
        return delivery

    def replay(self, delivery: Delivery, *, delay: float = 0.0) -> Delivery:
        """The same delivery again (same body, webhook id and event id): Shopify delivers at least once."""
        copy = Delivery(delivery.topic, delivery.shop, delivery.payload, delivery.body, dict(delivery.headers),
                        delivery.webhook_id, delivery.event_id, delivery.url)
        with self._cv:
            self.deliveries.append(copy)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), copy))
            self._cv.notify()
        return copy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery has succeeded or given up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cv:
                pending = [d for d in self.deliveries if not d.done.is_set()]
            if not pending:
                return True
            pending[0].done.wait(max(0.0, min(0.2, deadline - time.monotonic())))
        return False

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(wait)
                if self._stopped:
                    return
                _, _, delivery = heapq.heappop(self._heap)
            try:
                self._pool.submit(self._attempt, delivery)
            except RuntimeError:
                return

    def _attempt(self, delivery: Delivery) -> None:
        start = time.monotonic()
        status, error = None, ""
        try:
            response = self.client.post(delivery.url, content=delivery.body, headers=delivery.headers,
                                        timeout=self.timeout)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery.attempts.append(Attempt(time.time(), status, error, time.monotonic() - start))
        if status is not None and 200 <= status < 300:
            delivery.delivered = True
            delivery.done.set()
            return
        retries = len(delivery.attempts) - 1
        if retries >= len(self.retry_delays):
            delivery.gave_up = True
            log.info("webhook %s to %s gave up after %d attempts", delivery.topic, delivery.url,
                     len(delivery.attempts))
            delivery.done.set()
            return
        with self._cv:
            if self._stopped:
                delivery.done.set()
                return
            heapq.heappush(self._heap, (time.monotonic() + self.retry_delays[retries], next(self._seq), delivery))
            self._cv.notify()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ------------------------------------------------------------------------------------------- REST payloads
def _rest_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    # Shopify's REST webhooks carry the shop's offset; UTC keeps comparisons simple and is still ISO 8601.
    return datetime.fromtimestamp(int(ts), UTC).isoformat()


def _ts(graphql_time: str | None) -> float | None:
    if not graphql_time:
        return None
    return datetime.fromisoformat(graphql_time.replace("Z", "+00:00")).timestamp()


def product_payload(store: Store, i: int) -> dict[str, Any]:
    p = store.product(i)
    pid = PRODUCT_BASE + i
    variants = []
    for v in p["variants"]():
        vi = int(v["legacyResourceId"]) - VARIANT_BASE
        variants.append({
            "id": int(v["legacyResourceId"]), "product_id": pid, "title": v["title"], "price": v["price"],
            "sku": v["sku"], "position": v["position"], "inventory_policy": "deny",
            "compare_at_price": v["compareAtPrice"], "option1": v["title"], "option2": None, "option3": None,
            "created_at": _rest_time(_ts(v["createdAt"])), "updated_at": _rest_time(_ts(v["updatedAt"])),
            "taxable": True, "barcode": v["barcode"], "inventory_item_id": INVENTORY_ITEM_BASE + vi,
            "inventory_quantity": v["inventoryQuantity"], "old_inventory_quantity": v["inventoryQuantity"],
            "admin_graphql_api_id": v["id"], "image_id": None, "fulfillment_service": "manual",
            "inventory_management": "shopify", "requires_shipping": True, "grams": 500, "weight": 0.5,
            "weight_unit": "kg"})
    image = p["featuredImage"]
    image_rest = {"id": int(image["id"].rsplit("/", 1)[1]), "product_id": pid, "position": 1, "alt": image["altText"],
                  "width": image["width"], "height": image["height"], "src": image["url"], "variant_ids": [],
                  "admin_graphql_api_id": image["id"]}
    options = p["options"]()
    return {
        "id": pid, "title": p["title"], "body_html": p["descriptionHtml"], "vendor": p["vendor"],
        "product_type": p["productType"], "created_at": _rest_time(_ts(p["createdAt"])), "handle": p["handle"],
        "updated_at": _rest_time(_ts(p["updatedAt"])), "published_at": _rest_time(_ts(p["publishedAt"])),
        "template_suffix": None, "published_scope": "global", "tags": ", ".join(p["tags"]),
        "status": p["status"].lower(), "admin_graphql_api_id": p["id"], "variants": variants,
        "options": [{"id": pid * 10 + k, "product_id": pid, "name": o["name"], "position": k + 1,
                     "values": o["values"]} for k, o in enumerate(options)],
        "images": [image_rest], "image": image_rest,
        "variant_gids": [{"admin_graphql_api_id": v["admin_graphql_api_id"], "updated_at": v["updated_at"]}
                         for v in variants],
        "has_variants_that_requires_components": False, "category": None,
    }


def product_delete_payload(i: int) -> dict[str, Any]:
    return {"id": PRODUCT_BASE + i}


def inventory_level_payload(store: Store, v: int, loc: int) -> dict[str, Any]:
    qty, updated = store.stock(v, loc)
    item = INVENTORY_ITEM_BASE + v
    return {"inventory_item_id": item, "location_id": LOCATIONS[loc][0], "available": qty,
            "updated_at": _rest_time(updated),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATIONS[loc][0]}?inventory_item_id={item}"}


def collection_payload(store: Store, k: int) -> dict[str, Any]:
    c = store.collection(k)
    cid = int(c["legacyResourceId"])
    return {"id": cid, "handle": c["handle"], "title": c["title"], "updated_at": _rest_time(_ts(c["updatedAt"])),
            "body_html": c["descriptionHtml"], "published_at": _rest_time(store.now - 400 * 86_400),
            "sort_order": "best-selling", "template_suffix": None, "published_scope": "global",
            "admin_graphql_api_id": c["id"]}


def collection_delete_payload(store: Store, k: int) -> dict[str, Any]:
    cid = int(store.collection(k)["legacyResourceId"])
    return {"id": cid, "published_scope": "web", "admin_graphql_api_id": gid("Collection", cid)}


def inventory_item_payload(store: Store, v: int) -> dict[str, Any]:
    item = store.inventory_item(v)
    return {"id": INVENTORY_ITEM_BASE + v, "sku": item["sku"], "created_at": _rest_time(_ts(item["createdAt"])),
            "updated_at": _rest_time(_ts(item["updatedAt"])), "requires_shipping": True, "cost": None,
            "country_code_of_origin": None, "province_code_of_origin": None, "harmonized_system_code": None,
            "tracked": True, "country_harmonized_system_codes": [], "admin_graphql_api_id": item["id"]}


def _address_rest(a: dict[str, Any] | None, customer_id: int | None = None) -> dict[str, Any] | None:
    if not a:
        return None
    out = {"first_name": a.get("firstName"), "last_name": a.get("lastName"), "name": a.get("name"),
           "address1": a.get("address1"), "address2": None, "city": a.get("city"), "province": a.get("province"),
           "province_code": a.get("provinceCode"), "country": a.get("country"), "country_code": a.get("countryCodeV2"),
           "zip": a.get("zip"), "phone": a.get("phone"), "company": None}
    if customer_id is not None:
        out.update(id=int(str(a.get("id", "0")).rsplit("/", 1)[-1] or 0), customer_id=customer_id, default=True)
    return out


def customer_payload(store: Store, c: int) -> dict[str, Any]:
    cu = store.customer(c)
    cid = CUSTOMER_BASE + c
    consent = cu["emailMarketingConsent"]
    address = _address_rest(cu["defaultAddress"], cid)
    return {
        "id": cid, "email": cu["email"], "created_at": _rest_time(_ts(cu["createdAt"])),
        "updated_at": _rest_time(_ts(cu["updatedAt"])), "first_name": cu["firstName"], "last_name": cu["lastName"],
        "state": "enabled", "note": None, "verified_email": True, "multipass_identifier": None,
        "tax_exempt": False, "tags": ", ".join(cu["tags"]), "currency": store.currency, "phone": cu["phone"],
        "addresses": [address] if address else [], "default_address": address, "tax_exemptions": [],
        "email_marketing_consent": {"state": consent["marketingState"].lower(),
                                    "opt_in_level": (consent["marketingOptInLevel"] or "").lower() or None,
                                    "consent_updated_at": _rest_time(_ts(consent["consentUpdatedAt"]))},
        "sms_marketing_consent": None, "admin_graphql_api_id": cu["id"],
    }


def customer_delete_payload(c: int) -> dict[str, Any]:
    return {"id": CUSTOMER_BASE + c, "phone": None, "addresses": [], "tax_exemptions": [],
            "email_marketing_consent": None, "sms_marketing_consent": None,
            "admin_graphql_api_id": gid("Customer", CUSTOMER_BASE + c)}


def _money_set(bag: dict[str, Any]) -> dict[str, Any]:
    return {"shop_money": dict(bag["shopMoney"], currency_code=bag["shopMoney"]["currencyCode"]),
            "presentment_money": dict(bag["presentmentMoney"], currency_code=bag["presentmentMoney"]["currencyCode"])}


def _line_rest(line: dict[str, Any]) -> dict[str, Any]:
    variant = line["variant"]() if callable(line["variant"]) else None
    product = line["product"]() if callable(line["product"]) else None
    price = line["originalUnitPriceSet"]["shopMoney"]["amount"]
    return {"id": int(line["id"].rsplit("/", 1)[1]), "admin_graphql_api_id": line["id"], "name": line["name"],
            "title": line["title"], "variant_title": line["variantTitle"], "sku": line["sku"],
            "vendor": line["vendor"], "quantity": line["quantity"], "current_quantity": line["currentQuantity"],
            "fulfillable_quantity": line["currentQuantity"], "price": price,
            "price_set": _money_set(line["originalUnitPriceSet"]), "total_discount": "0.00",
            "product_id": int(product["legacyResourceId"]) if product else None,
            "variant_id": int(variant["legacyResourceId"]) if variant else None,
            "requires_shipping": True, "taxable": True, "gift_card": False, "product_exists": product is not None,
            "properties": [], "tax_lines": [], "discount_allocations": [], "duties": []}


def refund_payload(store: Store, o: int, refund: dict[str, Any]) -> dict[str, Any]:
    order = store.order(o)
    rid = int(refund["legacyResourceId"])
    return {
        "id": rid, "order_id": ORDER_BASE + o, "created_at": _rest_time(_ts(refund["createdAt"])),
        "processed_at": _rest_time(_ts(refund["createdAt"])), "note": refund["note"], "user_id": None,
        "restock": True, "admin_graphql_api_id": refund["id"], "order_adjustments": [], "duties": [],
        "total_duties_set": _money_set({"shopMoney": {"amount": "0.00", "currencyCode": store.currency},
                                        "presentmentMoney": {"amount": "0.00", "currencyCode": store.currency}}),
        "refund_line_items": [{"id": rid * 10 + k, "quantity": r["quantity"],
                               "line_item_id": int(r["lineItem"]["id"].rsplit("/", 1)[1]),
                               "location_id": LOCATIONS[0][0], "restock_type": "return",
                               "subtotal": float(r["subtotalSet"]["shopMoney"]["amount"]), "total_tax": 0.0,
                               "subtotal_set": _money_set(r["subtotalSet"]), "line_item": _line_rest(r["lineItem"])}
                              for k, r in enumerate(refund["refundLineItems"])],
        "transactions": [{"id": rid * 10 + 9, "order_id": ORDER_BASE + o, "kind": "refund", "status": "success",
                          "amount": refund["totalRefundedSet"]["shopMoney"]["amount"], "currency": store.currency,
                          "gateway": "shopify_payments", "created_at": _rest_time(_ts(refund["createdAt"]))}],
        "order_updated_at": _rest_time(_ts(order["updatedAt"])),
    }


def order_payload(store: Store, o: int) -> dict[str, Any]:
    od = store.order(o)
    oid = ORDER_BASE + o
    customer = od["customer"]() if callable(od["customer"]) else None
    app = od["app"]
    refunds = od["refunds"]()
    money = lambda key: od[key]["shopMoney"]["amount"]  # noqa: E731
    return {
        "id": oid, "admin_graphql_api_id": od["id"], "name": od["name"], "number": o + 1, "order_number": 1001 + o,
        "email": od["email"] or "", "contact_email": od["email"], "phone": od["phone"],
        "created_at": _rest_time(_ts(od["createdAt"])), "processed_at": _rest_time(_ts(od["processedAt"])),
        "updated_at": _rest_time(_ts(od["updatedAt"])), "cancelled_at": _rest_time(_ts(od["cancelledAt"])),
        "cancel_reason": (od["cancelReason"] or "").lower() or None, "closed_at": _rest_time(_ts(od["closedAt"])),
        "confirmed": True, "test": False, "currency": store.currency, "presentment_currency": store.currency,
        "source_name": od["sourceName"], "source_identifier": od["sourceIdentifier"],
        "app_id": int(app["id"].rsplit("/", 1)[1]) if app else None,
        "location_id": LOCATIONS[1][0] if od["sourceName"] == "pos" else None,
        "financial_status": (od["displayFinancialStatus"] or "").lower(),
        "fulfillment_status": "fulfilled" if od["displayFulfillmentStatus"] == "FULFILLED" else None,
        "discount_codes": [{"code": c, "amount": money("totalDiscountsSet"), "type": "percentage"}
                           for c in od["discountCodes"]],
        "tags": ", ".join(od["tags"]), "taxes_included": True, "note": None, "buyer_accepts_marketing": False,
        "customer_locale": od["customerLocale"],
        "subtotal_price": money("subtotalPriceSet"), "total_discounts": money("totalDiscountsSet"),
        "total_tax": money("totalTaxSet"), "total_price": money("totalPriceSet"),
        "current_total_price": money("currentTotalPriceSet"), "current_subtotal_price": money("subtotalPriceSet"),
        "current_total_discounts": money("totalDiscountsSet"), "current_total_tax": money("totalTaxSet"),
        "total_line_items_price": money("subtotalPriceSet"),
        "total_price_set": _money_set(od["totalPriceSet"]),
        "current_total_price_set": _money_set(od["currentTotalPriceSet"]),
        "total_shipping_price_set": _money_set(od["totalShippingPriceSet"]),
        "billing_address": _address_rest(od["billingAddress"]),
        "shipping_address": _address_rest(od["shippingAddress"]),
        "customer": customer_payload(store, int(customer["legacyResourceId"]) - CUSTOMER_BASE) if customer else None,
        "line_items": [_line_rest(line) for line in od["lineItems"]()],
        "refunds": [refund_payload(store, o, r) for r in refunds],
    }


def order_delete_payload(o: int) -> dict[str, Any]:
    return {"id": ORDER_BASE + o}


def shop_payload(store: Store) -> dict[str, Any]:
    s = store.shop()
    sid = int(s["id"].rsplit("/", 1)[1])
    return {"id": sid, "name": s["name"], "email": s["email"], "domain": store.domain,
            "myshopify_domain": store.domain, "country_code": "ES", "country_name": "Spain", "currency": store.currency,
            "customer_email": s["contactEmail"], "timezone": f"(GMT+01:00) {store.timezone}",
            "iana_timezone": store.timezone, "shop_owner": s["shopOwnerName"], "primary_locale": "es",
            "plan_name": "basic", "plan_display_name": "Basic", "taxes_included": True,
            "created_at": _rest_time(_ts(s["createdAt"])), "updated_at": _rest_time(_ts(s["updatedAt"])),
            "enabled_presentment_currencies": [store.currency], "primary_location_id": LOCATIONS[0][0]}


def bulk_finish_payload(operation: dict[str, Any]) -> dict[str, Any]:
    return {"admin_graphql_api_id": operation["id"], "completed_at": operation["completedAt"],
            "created_at": operation["createdAt"], "error_code": (operation["errorCode"] or "").lower() or None,
            "status": operation["status"].lower(), "type": operation["type"].lower()}


def shop_id(store: Store) -> int:
    return int(store.shop()["id"].rsplit("/", 1)[1])


def customers_data_request_payload(store: Store, c: int, orders: list[int]) -> dict[str, Any]:
    cu = store.customer_fields(c)
    return {"shop_id": shop_id(store), "shop_domain": store.domain,
            "orders_requested": [ORDER_BASE + o for o in orders],
            "customer": {"id": CUSTOMER_BASE + c, "email": cu["email"], "phone": cu["phone"]},
            "data_request": {"id": 9_000 + c}}


def customers_redact_payload(store: Store, c: int, orders: list[int]) -> dict[str, Any]:
    cu = store.customer_fields(c)
    return {"shop_id": shop_id(store), "shop_domain": store.domain,
            "customer": {"id": CUSTOMER_BASE + c, "email": cu["email"], "phone": cu["phone"]},
            "orders_to_redact": [ORDER_BASE + o for o in orders]}


def shop_redact_payload(store: Store) -> dict[str, Any]:
    return {"shop_id": shop_id(store), "shop_domain": store.domain}


__all__ = ["Delivery", "WebhookDispatcher", "iso", "sign"]
