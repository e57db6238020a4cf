"""The httpx client every Shopify call goes through (OAuth, token exchange, Admin GraphQL, bulk result files).

When settings.SHOPIFY_STANDIN_URL is set (tests, `manage.py demo`), requests to `*.myshopify.com` are rerouted to
the local stand-in: scheme, host and port are rewritten, the Host header keeps the shop's domain so the stand-in
knows which store is meant. Every other host (a bulk result file's URL) is left alone.
"""
from __future__ import annotations

import httpx
from django.conf import settings

from integrations.base.http import DEFAULT_TIMEOUT, build_client

SHOP_SUFFIX = ".myshopify.com"


class StandinTransport(httpx.BaseTransport):
    """Rewrites `https://<shop>.myshopify.com/...` to the stand-in's base URL, keeping path, query and Host."""

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None) -> None:
        self.base = httpx.URL(base_url)
        self.inner = inner or httpx.HTTPTransport(retries=1)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host or ""
        if host.endswith(SHOP_SUFFIX):
            request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
            request.headers["Host"] = host  # the shop's domain, for the stand-in's routing
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def shopify_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """A new client; callers close it (use as a context manager)."""
    standin = getattr(settings, "SHOPIFY_STANDIN_URL", "")
    transport = StandinTransport(standin) if standin else None
    return build_client(transport=transport, timeout=timeout)
