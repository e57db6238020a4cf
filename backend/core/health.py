"""GET /healthz: is the database reachable, the shared cache, and the broker (when there is one)?

The cache probe is also what the admin's "cache unavailable" notice and the storefront's fallback read, so it is
memoized per worker for PROBE_TTL seconds: a page render never pays a connect timeout, and a failure a storefront
request just saw counts as a probe (no request asks a cache known to be down until the memo lapses).
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

PROBE_TTL = 5.0
_cache_memo: tuple[float, str] = (0.0, "")  # (monotonic expiry, "ok" | "error: <type>"); swapped whole, no lock


def _check_database() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - health reports any failure as text
        return f"error: {type(exc).__name__}"


def _remember(result: str) -> str:
    global _cache_memo
    _cache_memo = (time.monotonic() + PROBE_TTL, result)
    return result


def check_cache() -> str:
    """"ok" or "error: <type>" for the default cache, probed at most once per PROBE_TTL per worker."""
    expires, result = _cache_memo
    if result and time.monotonic() < expires:
        return result
    try:
        caches["default"].get("healthz:probe")
    except Exception as exc:  # noqa: BLE001 - any failure of the cache is reported, whatever the backend
        return _remember(f"error: {type(exc).__name__}")
    return _remember("ok")


def cache_failed(exc: BaseException) -> None:
    """A request just saw the cache fail: that is the probe's answer for the next PROBE_TTL seconds."""
    _remember(f"error: {type(exc).__name__}")


def cache_known_down() -> bool:
    """True while a failure seen within PROBE_TTL stands (never probes: the hot path must not wait)."""
    expires, result = _cache_memo
    return result.startswith("error") and time.monotonic() < expires


def forget_cache_probe() -> None:
    """Drop the memo (tests; the next check probes again)."""
    global _cache_memo
    _cache_memo = (0.0, "")


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    from backend.config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "cache": check_cache(), "broker": _check_broker()}
    healthy = all(v in {"ok", "eager"} for v in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(int(PROBE_TTL))
    return response
