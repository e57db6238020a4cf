"""Signed links in every email: a click redirect (recorded, UTM added) and the unsubscribe address.

Both carry their whole meaning in a token signed with the app's secret (django.core.signing), so the views need no
lookup to trust them and no sign-in; a tampered token is a 400 before anything is read from the database.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing

CLICK_SALT = "emails.click"
UNSUBSCRIBE_SALT = "emails.unsubscribe"
MAX_URL = 1024


def click_url(send_id: int, url: str, product_id: int | None = None) -> str:
    token = signing.dumps({"s": send_id, "u": url[:MAX_URL], "p": product_id}, salt=CLICK_SALT, compress=True)
    return f"{settings.APP_URL}/e/c/{token}"


def read_click(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("u"), str):
        return None
    return data


def unsubscribe_token(shop_id: int, email: str) -> str:
    return signing.dumps({"h": shop_id, "e": email}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(shop_id: int, email: str) -> str:
    return f"{settings.APP_URL}/e/u/{unsubscribe_token(shop_id, email)}"


def read_unsubscribe(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("h"), int) or not isinstance(data.get("e"), str):
        return None
    return data["h"], data["e"]


def with_utm(url: str, campaign: str, content: str) -> str:
    """The destination with UTM parameters (kept if the merchant's URL already names them)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in (("utm_source", "personalize"), ("utm_medium", "email"), ("utm_campaign", campaign),
                       ("utm_content", content)):
        query.setdefault(key, value)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
