"""Route `https://<shop>.myshopify.com/...` to the stand-in, keeping the Host header the shop's."""
from __future__ import annotations

from typing import Any

import httpx


class StandinTransport(httpx.HTTPTransport):
    """An httpx transport that sends *.myshopify.com requests to the stand-in over plain HTTP."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        url = httpx.URL(base_url)
        self._scheme, self._host, self._port = url.scheme, url.host, url.port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith(".myshopify.com"):
            # The Host header was set from the original URL when the request was built; it stays.
            request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        return super().handle_request(request)


def standin_http_client(base_url: str, *, timeout: float = 30.0, **kwargs: Any) -> httpx.Client:
    """An httpx.Client for shopifyapp's `http_client=`: Shopify URLs reach the stand-in at base_url."""
    return httpx.Client(transport=StandinTransport(base_url), timeout=timeout, **kwargs)
