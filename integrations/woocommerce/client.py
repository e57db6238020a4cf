"""Our WooCommerce REST API v3 client: the `woocommerce` package signs and sends, this adds the rest.

The package's `API` class picks the authentication WooCommerce expects from the URL: HTTP Basic with the consumer
key and secret over https, one-legged OAuth 1.0a query signatures over plain http (a store without TLS must not
see the secret on the wire). Around it: a timeout on every call, retries with exponential backoff and jitter on
connection failures, 429 (honouring Retry-After) and 5xx, typed errors from integrations.base.errors for everything
else, and pagination through X-WP-Total / X-WP-TotalPages.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from woocommerce import API

from backend.core.json_input import MAX_API_RESPONSE_BYTES, parse_json
from integrations.base.errors import IntegrationError, TransportError, error_for_status
from integrations.base.http import RETRY_STATUSES, backoff_delay

logger = logging.getLogger("personalize.woocommerce.client")

PER_PAGE = 100  # WooCommerce's maximum


@dataclass(frozen=True)
class Page:
    items: list[dict]
    total: int
    total_pages: int


def _retry_after(response: requests.Response, default: float = 1.0) -> float:
    try:
        return max(0.0, min(float(response.headers.get("Retry-After", "")), 60.0))
    except ValueError:
        return default


class WooClient:
    def __init__(self, store_url: str, consumer_key: str, consumer_secret: str, *, shop_domain: str = "",
                 timeout: float | None = None, retries: int | None = None, backoff_base: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store_url = store_url.rstrip("/")
        self.shop_domain = shop_domain
        self.retries = retries if retries is not None else getattr(settings, "WOOCOMMERCE_RETRIES", 5)
        self.backoff_base = backoff_base if backoff_base is not None else getattr(
            settings, "WOOCOMMERCE_BACKOFF_BASE", 0.5)
        self.sleep = sleep
        # A CA bundle path lets tests and the demo trust a stand-in's self-signed certificate.
        verify: bool | str = getattr(settings, "WOOCOMMERCE_CA_BUNDLE", "") or True
        self.api = API(
            url=self.store_url, consumer_key=consumer_key, consumer_secret=consumer_secret, version="wc/v3",
            wp_api=True, timeout=timeout or getattr(settings, "WOOCOMMERCE_TIMEOUT", 20), verify_ssl=verify,
            user_agent="personalize-app/1.0",
        )
        self.requests_sent = 0
        self.throttled = 0

    @classmethod
    def for_shop(cls, shop: Any) -> WooClient:  # noqa: ANN401 - a Shop; imported lazily to keep this module light
        from .models import WooStore

        store = WooStore.objects.for_shop(shop).get()
        return cls(store.store_url, shop.access_token, shop.refresh_token, shop_domain=shop.domain)

    # --- sending --------------------------------------------------------------------------------------------

    def request(self, method: str, endpoint: str, *, params: dict | None = None, data: Any = None) -> requests.Response:  # noqa: ANN401
        attempt = 0
        while True:
            try:
                self.requests_sent += 1
                if method in {"POST", "PUT"}:
                    response = getattr(self.api, method.lower())(endpoint, data, params=dict(params or {}),
                                                                  allow_redirects=False)
                else:
                    response = getattr(self.api, method.lower())(endpoint, params=dict(params or {}),
                                                                  allow_redirects=False)
            except requests.RequestException as exc:
                if attempt >= self.retries:
                    raise TransportError(f"{method} {endpoint}: {exc.__class__.__name__}",
                                         shop_domain=self.shop_domain) from exc
                delay = backoff_delay(attempt, base=self.backoff_base)
                logger.warning("woocommerce transport error shop=%s %s %s, retry in %.2fs",
                               self.shop_domain, method, endpoint, delay)
            else:
                status = response.status_code
                if status < 300:
                    return response
                if status not in RETRY_STATUSES or attempt >= self.retries:
                    raise error_for_status(status, f"{method} {endpoint} → {status}: {_reason(response)}",
                                           shop_domain=self.shop_domain, retry_after=_retry_after(response))
                if status == 429:
                    self.throttled += 1
                    delay = _retry_after(response) + backoff_delay(0, base=self.backoff_base / 2)
                else:
                    delay = backoff_delay(attempt, base=self.backoff_base)
                logger.info("woocommerce shop=%s %s %s → %s, retry in %.2fs", self.shop_domain, method, endpoint,
                            status, delay)
            attempt += 1
            self.sleep(delay)

    def get(self, endpoint: str, **params: Any) -> Any:  # noqa: ANN401
        return _json(self.request("GET", endpoint, params=params), endpoint, self.shop_domain)

    def page(self, endpoint: str, page: int, per_page: int = PER_PAGE, **params: Any) -> Page:  # noqa: ANN401
        response = self.request("GET", endpoint, params={**params, "page": page, "per_page": per_page})
        items = _json(response, endpoint, self.shop_domain)
        if not isinstance(items, list):
            raise IntegrationError(f"GET {endpoint}: expected a list", shop_domain=self.shop_domain)
        total = _int_header(response, "X-WP-Total", len(items))
        pages = _int_header(response, "X-WP-TotalPages", 1 if items else 0)
        return Page([i for i in items if isinstance(i, dict)], total, pages)

    def all(self, endpoint: str, **params: Any) -> list[dict]:  # noqa: ANN401
        """Every item of a small collection (variations of a product, categories, webhooks)."""
        out: list[dict] = []
        page_no = 1
        while True:
            page = self.page(endpoint, page_no, **params)
            out.extend(page.items)
            if page_no >= page.total_pages or not page.items:
                return out
            page_no += 1

    # --- resources ------------------------------------------------------------------------------------------

    def variations(self, product_id: int | str) -> list[dict]:
        return self.all(f"products/{int(product_id)}/variations")

    def create_webhook(self, topic: str, delivery_url: str, secret: str, name: str) -> dict:
        response = self.request("POST", "webhooks", data={"name": name, "topic": topic, "delivery_url": delivery_url,
                                                          "secret": secret, "status": "active"})
        return _json(response, "webhooks", self.shop_domain)

    def delete_webhook(self, webhook_id: int | str) -> None:
        self.request("DELETE", f"webhooks/{int(webhook_id)}", params={"force": "true"})


def _json(response: requests.Response, endpoint: str, shop_domain: str) -> Any:  # noqa: ANN401
    try:
        return parse_json(response.content, max_bytes=MAX_API_RESPONSE_BYTES, what="response")
    except ValueError as exc:
        # A caching plugin or a PHP notice in front of the JSON: the body is not the API's answer.
        raise IntegrationError(f"{endpoint}: response is not JSON", shop_domain=shop_domain,
                               status=response.status_code) from exc


def _int_header(response: requests.Response, name: str, default: int) -> int:
    try:
        return max(0, int(response.headers.get(name, default)))
    except ValueError:
        return default


def _reason(response: requests.Response) -> str:
    try:
        body = parse_json(response.content, max_bytes=MAX_API_RESPONSE_BYTES, what="response")
    except ValueError:
        return response.text[:200]
    return str(body.get("code", "")) + " " + str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
