"""The one way the app talks HTTP to a platform: timeouts everywhere, no redirects, retries with backoff and
jitter for what is worth retrying (connection errors, 429, 5xx), typed errors for the rest.

Connectors build their client with `build_client` (optionally with a transport that reroutes hosts, as the
Shopify stand-in needs) and send with `send`, which honours `Retry-After`.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from .errors import IntegrationError, RateLimited, TransportError, error_for_status

logger = logging.getLogger("personalize.integrations.http")

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
RETRY_STATUSES = {429, 500, 502, 503, 504}


def build_client(
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An httpx client with timeouts on every phase and redirects off (a redirect from an API is a surprise)."""
    return httpx.Client(
        transport=transport or httpx.HTTPTransport(retries=1),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": "personalize-app/1.0", **(headers or {})},
    )


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (attempt 0 → up to `base` seconds)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(raw), 60.0))
    except ValueError:
        return default


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    shop_domain: str = "",
    retries: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request; retry transport failures, 429 and 5xx with backoff; raise a typed error otherwise."""
    attempt = 0
    while True:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if attempt >= retries:
                raise TransportError(f"{method} {url}: {exc.__class__.__name__}", shop_domain=shop_domain) from exc
            delay = backoff_delay(attempt)
            logger.warning("transport error shop=%s %s %s, retry in %.2fs", shop_domain, method, url, delay)
        else:
            if response.status_code < 400:
                return response
            if response.status_code not in RETRY_STATUSES or attempt >= retries:
                raise error_for_status(response.status_code, f"{method} {url} → {response.status_code}",
                                       shop_domain=shop_domain, retry_after=retry_after_seconds(response))
            delay = (retry_after_seconds(response) + backoff_delay(0, base=0.25)
                     if response.status_code == 429 else backoff_delay(attempt))
            logger.info("shop=%s %s %s → %s, retry in %.2fs", shop_domain, method, url, response.status_code, delay)
        attempt += 1
        sleep(delay)


__all__ = ["IntegrationError", "RateLimited", "build_client", "send", "backoff_delay", "DEFAULT_TIMEOUT"]
