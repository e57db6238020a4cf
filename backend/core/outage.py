"""When a backing service stops answering: the database, or the shared cache (Redis).

Views that can do better catch these themselves (the widget API serves the payload its worker holds). Whatever
escapes a view ends in OutageMiddleware: a JSON 503 with Retry-After for the APIs, webhooks and storefront, a short
page in the merchant's language for the admin; never Django's HTML 500, which tells a caller nothing and a
platform "broken" rather than "later".
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

from . import health

logger = logging.getLogger("personalize.outage")

RETRY_AFTER = 30  # seconds; Shopify and WooCommerce retry webhooks on their own schedule, browsers don't retry


class Unavailable(Exception):
    """A view needed a service that is down and had nothing better to serve ("cache" or "database")."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} unavailable")
        self.service = service


try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    CACHE_ERRORS: tuple[type[BaseException], ...] = (_RedisConnectionError, _RedisTimeoutError)
except ImportError:  # redis is a dependency, but a cache-less install must still import this module
    CACHE_ERRORS = ()
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
# What a cache call raises when its backend is down, whichever backend that is (Redis, or the database cache).
SHARED_CACHE_ERRORS = CACHE_ERRORS + DATABASE_ERRORS
OUTAGE_ERRORS = (Unavailable, *SHARED_CACHE_ERRORS)


def service_of(exc: BaseException) -> str:
    """"cache", "database", or "" when exc is not an outage."""
    if isinstance(exc, Unavailable):
        return exc.service
    if CACHE_ERRORS and isinstance(exc, CACHE_ERRORS):
        return "cache"
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    return ""


def unavailable(exc: BaseException, request: HttpRequest | None = None,
                headers: dict[str, str] | None = None) -> HttpResponse:
    """The JSON 503 for an outage: which service, and when to come back. Logged one line per request (the cause
    is known; a traceback per request would bury everything else during an outage)."""
    service = service_of(exc) or "service"
    if service == "cache" and not isinstance(exc, Unavailable):
        health.cache_failed(exc)
    where = f"{request.method} {request.path}" if request is not None else "-"
    logger.warning("%s unavailable on %s: %s: %s", service, where, type(exc).__name__, str(exc)[:200])
    body = {"error": f"{service} temporarily unavailable, retry later", "unavailable": service,
            "retry_after": RETRY_AFTER}
    response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    for name, value in {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store", **(headers or {})}.items():
        response[name] = value
    return response


_JSON_PATHS = ("/api/", "/healthz", "/shopify/webhooks", "/woocommerce/webhooks/", "/woocommerce/plugin/")


def _lang(request: HttpRequest) -> str:
    """The merchant's language without asking the database (it may be what is down)."""
    for asked in (request.GET.get("lang", ""), request.GET.get("locale", "")[:2]):
        if asked in ("en", "es"):
            return asked
    shop = getattr(request, "shop", None)
    if shop is not None and (shop.locale or "").lower().startswith("es"):
        return "es"
    accept = request.headers.get("Accept-Language", "").lower()
    return "es" if accept.startswith("es") else "en"


def _page(exc: BaseException, request: HttpRequest) -> HttpResponse:
    from django.utils import translation

    service = service_of(exc) or "service"
    logger.warning("%s unavailable on %s %s: %s: %s", service, request.method, request.path,
                   type(exc).__name__, str(exc)[:200])
    lang = _lang(request)
    # No request context: context processors would ask the database again.
    with translation.override(lang):
        html = render_to_string("dashboard/unavailable.html", {"lang": lang, "retry_after": RETRY_AFTER})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    # Inside Shopify's admin the page must be frameable, or the merchant sees a blocked frame instead of it. The
    # session token can't be verified while the database is down; the page holds nothing of the shop's.
    from backend.dashboard.framing import allow_shopify_admin, valid_shop_domain

    shop = valid_shop_domain(request.GET.get("shop", ""))
    if request.GET.get("embedded") == "1" and shop:
        allow_shopify_admin(response, shop)
    return response


def respond(exc: BaseException, request: HttpRequest) -> HttpResponse:
    """JSON for machine paths, the merchant's page for everything a person opens."""
    if request.path.startswith(_JSON_PATHS):
        return unavailable(exc, request)
    if service_of(exc) == "cache":
        health.cache_failed(exc)
    return _page(exc, request)


class OutageMiddleware:
    """Turns an outage escaping a view into a 503 (see module doc); any other exception is left to Django."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not service_of(exception):
            return None
        return respond(exception, request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage raised outside any view (another middleware, a session save) is still a 503."""
    exc = sys.exc_info()[1]
    if exc is not None and service_of(exc):
        return respond(exc, request)
    return defaults.server_error(request)
