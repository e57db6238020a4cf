"""Admin GraphQL for one shop: shopifyapp's `admin_graphql_request` over our httpx client, plus what a long sync
needs around it — the token refreshed before expiry or once on a 401, the cost bucket respected (THROTTLED and 429
slow us down, never fail us), bulk operations, and bulk result files streamed line by line.
"""
from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from shopify_app import admin_graphql_request

from backend.core.json_input import MAX_API_RESPONSE_BYTES, parse_json
from backend.shops.models import Shop
from integrations.base.errors import (
    GraphQLError,
    IntegrationError,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    error_for_status,
)
from integrations.base.http import backoff_delay, retry_after_seconds

from . import documents
from .http import shopify_client
from .oauth import refresh_offline_token, shop_name

logger = logging.getLogger("personalize.shopify")

REFRESH_MARGIN = timedelta(seconds=120)  # refresh a little before expiry, not at the last second
MAX_THROTTLE_WAIT = 600.0  # seconds of throttling one call tolerates before giving up (the task then retries)
TRANSIENT_ATTEMPTS = 5
STREAM_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=30.0, pool=5.0)


class ShopifyClient:
    """One shop's Admin API session. Not thread-safe; close it (or use `with`)."""

    def __init__(self, shop: Shop, *, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.shop = shop
        self.http = http or shopify_client()
        self._owns_http = http is None
        self.sleep = sleep
        self.api_version = settings.SHOPIFY_API_VERSION
        # Last throttleStatus seen: lets us wait before a call the bucket cannot afford yet.
        self._bucket: dict[str, float] | None = None
        self.throttled_waits = 0

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # --- tokens ------------------------------------------------------------------------------------------------

    def _access_token(self) -> str:
        expires = self.shop.access_token_expires_at
        if self.shop.refresh_token and expires and expires <= timezone.now() + REFRESH_MARGIN:
            self.refresh_token(stale_token=self.shop.access_token)
        if not self.shop.access_token:
            raise Unauthorized("shop has no access token (uninstalled?)", shop_domain=self.shop.domain, status=401)
        return self.shop.access_token

    def refresh_token(self, stale_token: str) -> None:
        """Swap the refresh token for a new pair. The shop row is locked: refresh tokens are single use, so two
        workers must not both spend it; whoever comes second adopts the first one's new token."""
        with transaction.atomic():
            locked = Shop.objects.select_for_update().get(pk=self.shop.pk)
            if locked.access_token and locked.access_token != stale_token:
                self._adopt(locked)
                return
            if not locked.refresh_token:
                raise Unauthorized("token rejected and no refresh token", shop_domain=locked.domain, status=401)
            token = refresh_offline_token(locked, http=self.http)
            locked.access_token = token["access_token"]
            locked.access_token_expires_at = token["expires_at"]
            locked.refresh_token = token["refresh_token"] or locked.refresh_token
            locked.refresh_token_expires_at = token["refresh_expires_at"] or locked.refresh_token_expires_at
            locked.save(update_fields=["access_token", "access_token_expires_at", "refresh_token",
                                       "refresh_token_expires_at"])
            logger.info("refreshed access token shop=%s", locked.domain)
            self._adopt(locked)

    def _adopt(self, fresh: Shop) -> None:
        for f in ("access_token", "access_token_expires_at", "refresh_token", "refresh_token_expires_at"):
            setattr(self.shop, f, getattr(fresh, f))

    # --- GraphQL -----------------------------------------------------------------------------------------------

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, expected_cost: float = 0) -> dict:
        """Run one Admin GraphQL document and return its `data`. Raises a typed IntegrationError."""
        refreshed = False
        transient = 0
        throttled_for = 0.0
        while True:
            self._wait_for_bucket(expected_cost)
            token = self._access_token()
            result = admin_graphql_request(
                query, shop=shop_name(self.shop.domain), access_token=token, api_version=self.api_version,
                variables=variables, max_retries=0, http_client=self.http,
            )
            raw = result.http_logs[-1].res if result.http_logs else result.response
            body = _json(raw.body)
            self._note_cost((body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None)
            if result.ok:
                return result.data or {}
            code = result.log.code
            if code == "unauthorized" or raw.status == 401:
                if refreshed or not self.shop.refresh_token:
                    raise Unauthorized("access token rejected", shop_domain=self.shop.domain, status=401)
                self.refresh_token(stale_token=token)
                refreshed = True
                continue
            if code == "graphql_errors":
                errors = body.get("errors") or []
                if _is_throttled(errors):
                    delay = self._throttle_delay(body)
                    throttled_for += delay
                    if throttled_for > MAX_THROTTLE_WAIT:
                        raise RateLimited("throttled for too long", shop_domain=self.shop.domain, retry_after=delay)
                    self.throttled_waits += 1
                    logger.info("THROTTLED shop=%s, waiting %.2fs", self.shop.domain, delay)
                    self.sleep(delay)
                    continue
                raise GraphQLError(f"GraphQL errors: {_messages(errors)}", errors=errors,
                                   shop_domain=self.shop.domain, status=200)
            if raw.status == 429:
                delay = retry_after_seconds(httpx.Response(429, headers=raw.headers)) + random.uniform(0, 0.5)
                throttled_for += delay
                if throttled_for > MAX_THROTTLE_WAIT:
                    raise RateLimited("rate limited for too long", shop_domain=self.shop.domain, retry_after=delay)
                self.throttled_waits += 1
                self.sleep(delay)
                continue
            if code == "network_error" or raw.status >= 500:
                transient += 1
                if transient >= TRANSIENT_ATTEMPTS:
                    cls = TransportError if code == "network_error" else ServerError
                    raise cls(f"Admin API unavailable ({code})", shop_domain=self.shop.domain, status=raw.status)
                self.sleep(backoff_delay(transient))
                continue
            raise error_for_status(raw.status or 400, f"Admin API {code}", shop_domain=self.shop.domain)

    def _note_cost(self, cost: dict | None) -> None:
        status = (cost or {}).get("throttleStatus") if isinstance(cost, dict) else None
        if isinstance(status, dict):
            try:
                self._bucket = {
                    "max": float(status["maximumAvailable"]),
                    "available": float(status["currentlyAvailable"]),
                    "rate": max(float(status["restoreRate"]), 1.0),
                    "at": time.monotonic(),
                    "requested": float(cost.get("requestedQueryCost") or 0),
                }
            except (KeyError, TypeError, ValueError):
                self._bucket = None

    def _wait_for_bucket(self, cost: float) -> None:
        """Sleep until the bucket (as last reported, refilled since at restoreRate) can pay `cost`."""
        if not cost or not self._bucket:
            return
        b = self._bucket
        available = min(b["max"], b["available"] + (time.monotonic() - b["at"]) * b["rate"])
        if available < cost:
            self.sleep((cost - available) / b["rate"])

    def _throttle_delay(self, body: dict) -> float:
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            needed = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
            rate = max(float(status.get("restoreRate") or 50), 1.0)
        except (TypeError, ValueError):
            needed, rate = 0.0, 50.0
        return max(needed / rate, 0.2) + random.uniform(0, 0.3)

    # --- bulk operations ---------------------------------------------------------------------------------------

    def run_bulk_query(self, query: str) -> dict:
        """Start a bulk query; returns the BulkOperation. If the shop runs as many as Shopify allows (one before
        API 2026-01, a few from then), raises RateLimited so the caller waits and tries again."""
        data = self.graphql(documents.BULK_RUN_QUERY, {"query": query})
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if errors:
            text = _messages(errors)
            if "already in progress" in text.lower() or any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                raise RateLimited(f"bulk operation in progress: {text}", shop_domain=self.shop.domain, retry_after=2)
            raise GraphQLError(f"bulkOperationRunQuery: {text}", errors=errors, shop_domain=self.shop.domain)
        op = payload.get("bulkOperation")
        if not op or not op.get("id"):
            raise GraphQLError("bulkOperationRunQuery returned no operation", shop_domain=self.shop.domain)
        return op

    def bulk_operation(self, gid: str) -> dict:
        return (self.graphql(documents.BULK_OPERATION, {"id": gid}) or {}).get("bulkOperation") or {}

    def running_bulk_operations(self) -> list[dict]:
        """The app's bulk queries created or running on this shop, newest first."""
        connection = (self.graphql(documents.RUNNING_BULK_OPERATIONS) or {}).get("bulkOperations") or {}
        return [op for op in connection.get("nodes") or () if isinstance(op, dict)]

    def cancel_bulk_operation(self, gid: str) -> None:
        self.graphql(documents.BULK_CANCEL, {"id": gid})

    def stream_lines(self, url: str, start: int = 0) -> Iterator[tuple[bytes, int]]:
        """Yield (line, byte offset just past it) from a JSONL file, starting at byte `start`.

        Asks for a byte range when resuming; if the server ignores it, skips the prefix while reading. Only one
        network chunk and one partial line are ever held in memory.
        """
        headers = {"Range": f"bytes={start}-"} if start else {}
        with contextlib.ExitStack() as opened:
            try:
                response = opened.enter_context(self.http.stream("GET", url, headers=headers, timeout=STREAM_TIMEOUT))
            except httpx.TransportError as exc:  # refused or timed out before a byte: resumable like a broken one
                raise TransportError(f"bulk result download could not start: {exc.__class__.__name__}",
                                     shop_domain=self.shop.domain) from exc
            if response.status_code >= 400:
                raise error_for_status(response.status_code, f"bulk result download → {response.status_code}",
                                       shop_domain=self.shop.domain)
            offset = start if response.status_code == 206 else 0
            tail = b""
            try:
                for chunk in response.iter_bytes():  # as it arrives: a break loses no received line
                    tail += chunk
                    if b"\n" not in chunk:
                        continue
                    *lines, tail = tail.split(b"\n")
                    for line in lines:
                        offset += len(line) + 1
                        if offset > start:
                            yield line, offset
            except httpx.TransportError as exc:  # a dropped download: the retried task resumes from the checkpoint
                raise TransportError(f"bulk result download broke off: {exc.__class__.__name__}",
                                     shop_domain=self.shop.domain) from exc
            if tail:
                offset += len(tail)
                if offset > start:
                    yield tail, offset


def _json(text: str) -> Any:
    try:
        return parse_json(text, max_bytes=MAX_API_RESPONSE_BYTES, what="response") if text else {}
    except ValueError:
        return {}


def _is_throttled(errors: list) -> bool:
    return any(isinstance(e, dict) and ((e.get("extensions") or {}).get("code") == "THROTTLED"
                                        or str(e.get("message", "")).lower() == "throttled") for e in errors)


def _messages(errors: list) -> str:
    return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:500]


__all__ = ["ShopifyClient", "IntegrationError"]
