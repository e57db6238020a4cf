"""Shapes of the storefront's hostile input: anything that doesn't match is refused before it reaches a query."""
from __future__ import annotations

import re

MAX_ID = 64
PLATFORM_ID = re.compile(r"[A-Za-z0-9_\-:./]{1,64}")  # Shopify/WooCommerce ids, GIDs
VISITOR_ID = re.compile(r"[A-Za-z0-9_\-.]{1,64}")  # ids the storefront script makes (UUIDs, base64url)
SEGMENT = re.compile(r"[A-Za-z0-9_\-:. ]{1,64}")  # "country:ES", "buyers:repeat", "tag:vip"
TOKEN = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")  # widget names, experiments, variants
PUBLIC_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # "pk_" + URL-safe base64
LOCALES = ("es", "en")


def plain_id(value: str) -> str:
    """Shopify's numeric id from a GID ("gid://shopify/Product/123" → "123"); ids are stored numeric."""
    if value.startswith("gid://"):
        return value.rsplit("/", 1)[-1]
    return value


def matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None
