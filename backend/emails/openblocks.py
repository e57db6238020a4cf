"""Open-time recommendation blocks for merchants who send with their own ESP (Klaviyo, Mailchimp, ...).

The ESP fetches a per-customer JSON feed at send time (server to server, with the shop's feed key and the
customer's email as merge tags) and pastes what it returns: for each slot a signed image URL and a signed click
URL. Neither carries the email: they carry a signed, opaque (shop, profile) token. When the email is opened, the
image is drawn then (Pillow) from the recommendations as they are at that moment, so a product sold out since
the send is swapped for the next one; the click goes to whatever that slot shows now. Cards are kept briefly.
"""
from __future__ import annotations

import hmac
import io
import textwrap
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from backend.customers.models import CustomerProfile
from backend.orders.models import Order
from backend.shops.models import Shop

from . import blocks
from .language import language_for

OPEN_SALT = "emails.open"
FEED_SALT = "emails.feed"
SLOTS = 4
CARD_TTL = 300  # seconds an open-time card is kept (and the Cache-Control max-age)
WIDTH, HEIGHT = 300, 160
_BLANK: bytes | None = None


@dataclass(frozen=True)
class Slot:
    title: str
    price: str
    url: str


def token(shop_id: int, profile_id: int) -> str:
    return signing.dumps([shop_id, profile_id], salt=OPEN_SALT, compress=True)


def read_token(raw: str) -> tuple[int, int] | None:
    try:
        data = signing.loads(raw[:512], salt=OPEN_SALT)
    except signing.BadSignature:
        return None
    if isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) for x in data):
        return data[0], data[1]
    return None


def feed_key(shop: Shop) -> str:
    """The shop's secret for its ESP feed (derived from the app's secret: nothing stored, rotates with it)."""
    return signing.Signer(salt=FEED_SALT).signature(f"{shop.pk}:{shop.public_key}")


def feed_key_ok(shop: Shop, given: str) -> bool:
    return hmac.compare_digest(feed_key(shop).encode(), (given or "")[:200].encode())


def picks(shop: Shop, profile: CustomerProfile) -> tuple[str, list[blocks.Item]]:
    """(language, items) now: also-bought of the customer's last order, else for-you, else their bestsellers."""
    language = language_for(shop, profile)
    customers = blocks.customer_ids(profile)
    last = Order.objects.for_shop(shop).filter(customer_id__in=customers, cancelled_at__isnull=True).order_by(
        "-processed_at").first() if customers else None
    seeds = [li.product_id for li in last.line_items.all() if li.product_id] if last else []
    return language, blocks.recommendations(shop, profile, seeds, language, limit=SLOTS)


def slot_urls(shop: Shop, profile: CustomerProfile, n: int) -> dict[str, str]:
    t = token(shop.pk, profile.pk)
    base = f"{settings.APP_URL}/email/{shop.public_key}/{n}"
    return {"image": f"{base}.png?t={t}", "click": f"{base}/go?t={t}"}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def card_png(item: blocks.Item) -> bytes:
    """A product card drawn for email clients (title, price, a button), PNG."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, WIDTH - 1, HEIGHT - 1], outline="#dddddd")
    y = 14
    for line in textwrap.wrap(item.title, width=26)[:2]:
        draw.text((14, y), line, fill="#1a1a1a", font=_font(18))
        y += 24
    draw.text((14, y + 6), item.price, fill="#1a1a1a", font=_font(20))
    draw.rounded_rectangle([14, HEIGHT - 46, WIDTH - 14, HEIGHT - 14], radius=6, fill="#111111")
    draw.text((WIDTH // 2, HEIGHT - 30), "→", fill="white", font=_font(18), anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def blank_png() -> bytes:
    """A 1×1 transparent image for a slot with nothing to show (the layout of the ESP's email stays intact)."""
    global _BLANK
    if _BLANK is None:
        out = io.BytesIO()
        Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(out, "PNG")
        _BLANK = out.getvalue()
    return _BLANK


def slot_image(shop: Shop, profile: CustomerProfile, n: int) -> bytes:
    key = f"emails:open:{shop.pk}:{profile.pk}:{n}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    _lang, items = picks(shop, profile)
    png = card_png(items[n]) if n < len(items) else blank_png()
    cache.set(key, png, CARD_TTL)
    return png
