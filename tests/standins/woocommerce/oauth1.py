"""Server side of WooCommerce's one-legged OAuth 1.0a, as WC_REST_Authentication::check_oauth_signature does it.

The signature base string is METHOD & rawurlencode(base URL) & the sorted parameters, each `key=value` pair
RFC 3986-encoded twice (once per part, once as a pair) and joined by %26. The key is the consumer secret plus
"&". Parameters come from the query string as PHP parses it: a repeated key keeps its last value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

TIMESTAMP_WINDOW = 15 * 60  # seconds, as WooCommerce allows


def rfc3986(value: str) -> str:
    # PHP's rawurlencode: everything but unreserved characters is percent-encoded.
    return quote(value, safe="-_.~")


def signature(method: str, base_url: str, params: dict[str, str], consumer_secret: str, algorithm: str) -> str:
    params = {k: v for k, v in params.items() if k != "oauth_signature"}
    pairs = [rfc3986(f"{rfc3986(k)}={rfc3986(params[k])}") for k in sorted(params)]
    to_sign = f"{method.upper()}&{rfc3986(base_url)}&{'%26'.join(pairs)}"
    digest = hmac.new(f"{consumer_secret}&".encode(), to_sign.encode(), getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def verify(method: str, base_url: str, params: dict[str, str], consumer_secret: str) -> str | None:
    """None when the signature is right, else WooCommerce's reason for refusing it."""
    method_name = params.get("oauth_signature_method", "")
    if method_name not in {"HMAC-SHA1", "HMAC-SHA256"}:
        return "Invalid signature - signature method is invalid."
    expected = signature(method, base_url, params, consumer_secret, method_name.removeprefix("HMAC-").lower())
    given = params.get("oauth_signature", "").replace(" ", "+")
    if not hmac.compare_digest(expected, given):
        return "Invalid signature - provided signature does not match."
    return None
