"""The one way outside JSON is read: request bodies, webhook payloads, platform API responses.

Bytes from outside are capped in size, checked to be UTF-8 and checked for nesting depth *before* a parser sees
them, then parsed with orjson (strict JSON: no NaN/Infinity, no unpaired surrogates, which would later fail to
encode). The depth check is a linear scan, not a recursive parse: 3,000 `[` used to make `json.loads` raise
RecursionError, a 500. Every failure is a `JsonInputError` (a ValueError) carrying the HTTP status and a reason
the caller can answer with.
"""
from __future__ import annotations

import re

import orjson
from django.http import HttpRequest

# Deeper than any payload we accept (a Shopify order webhook nests about 7 levels), shallow enough that nothing
# downstream that walks the structure recursively can run out of stack.
MAX_DEPTH = 64
# Platform API answers (a page of 100 WooCommerce products with their descriptions is a few MB).
MAX_API_RESPONSE_BYTES = 64 * 1024 * 1024
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NUL_ESCAPE = b"\\u0000"


class JsonInputError(ValueError):
    """Outside JSON we will not use: `status` is 400 (malformed) or 413 (too large), `reason` says why."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def depth_of(raw: bytes, limit: int) -> int:
    """How deep arrays and objects nest in `raw` (strings skipped), in one linear scan: at most `limit` when they
    nest no deeper, above it otherwise (unbalanced brackets count as too deep: that is not JSON anyway)."""
    opening = raw.count(b"[") + raw.count(b"{")
    if opening <= limit:
        return opening  # nothing can nest deeper than the number of brackets opened
    import numpy as np  # a cumulative sum in C: a 5 MB body of brackets is scanned in milliseconds

    outside = _STRING.sub(b"", raw)
    steps = np.zeros(256, dtype=np.int8)
    steps[ord("[")] = steps[ord("{")] = 1
    steps[ord("]")] = steps[ord("}")] = -1
    levels = np.cumsum(steps[np.frombuffer(outside, dtype=np.uint8)], dtype=np.int64)
    if not len(levels):
        return 0
    if levels.min() < 0 or levels[-1] != 0:
        return limit + 1
    return int(levels.max())


def parse_json(raw: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "body") -> object:
    """`raw` parsed, or JsonInputError: larger than `max_bytes` (413), not UTF-8, nested deeper than `max_depth`,
    holding a NUL character, or not JSON (400)."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonInputError(f"{what} is not UTF-8") from None
    if len(raw) > max_bytes:
        raise JsonInputError(f"{what} larger than {max_bytes} bytes", status=413)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonInputError(f"{what} is not UTF-8") from None
    if depth_of(raw, max_depth) > max_depth:
        raise JsonInputError(f"{what} nests deeper than {max_depth} levels")
    if _NUL_ESCAPE in raw:
        # PostgreSQL cannot store NUL in text or jsonb: refused here rather than failing at the INSERT. (A literal
        # backslash before "u0000" is refused too; no payload we accept needs one.)
        raise JsonInputError(f"{what} contains a NUL character")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise JsonInputError(f"{what} is not JSON") from None


def read_body(request: HttpRequest, max_bytes: int) -> bytes:
    """The raw request body, at most `max_bytes` (JsonInputError 413 past it), read from the stream so nothing
    larger is ever held in memory. A Content-Length that is not a number is refused as well."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise JsonInputError("Content-Length is not a number") from None
    if declared > max_bytes:
        raise JsonInputError(f"body larger than {max_bytes} bytes", status=413)
    raw = request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise JsonInputError(f"body larger than {max_bytes} bytes", status=413)
    return raw


def read_json(request: HttpRequest, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> object:
    """The request body parsed as JSON under the caps above (an empty body is JSON `null`)."""
    raw = read_body(request, max_bytes)
    return parse_json(raw, max_bytes=max_bytes, max_depth=max_depth) if raw.strip() else None


def drf_parser(max_bytes: int, max_depth: int = MAX_DEPTH) -> type:
    """A Django REST framework parser class for `parser_classes`: the same caps, ParseError (400) with the reason.
    (DRF's own JSONParser lets RecursionError through as a 500.)"""
    from rest_framework.exceptions import ParseError
    from rest_framework.parsers import BaseParser

    class CappedJSONParser(BaseParser):
        media_type = "application/json"

        def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201 - DRF's signature
            raw = stream.read(max_bytes + 1) if stream is not None else b""
            try:
                return parse_json(raw, max_bytes=max_bytes, max_depth=max_depth)
            except JsonInputError as exc:
                raise ParseError(exc.reason) from None

    return CappedJSONParser
