"""The merchant's pickers: products and collections found by title, shown with their picture.

Every query is scoped to one shop; the words typed are capped and matched as plain text (Django escapes `%` and
`_` for `icontains`), and the answer is capped, so a picker can never list or scan a whole catalogue.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlparse

from backend.shops.models import Shop

from .models import Collection, CollectionMembership, Product

KINDS = ("product", "collection")
MAX_QUERY = 100  # characters of a search: titles are shorter
MAX_RESULTS = 20


@dataclass(frozen=True)
class Choice:
    id: str  # the platform's id: what the merchandising rules speak
    title: str
    image: str  # "" when the item has none (the picker draws the title's initial)

    def as_json(self) -> dict:
        return asdict(self)


def safe_image(raw: str) -> str:
    """An http(s) or same-site image URL, else "": the admin puts it in an <img src>."""
    if not raw or len(raw) > 1024:
        return ""
    if raw.startswith("/") and not raw.startswith("//"):
        return raw
    return raw if urlparse(raw).scheme in ("http", "https") else ""


def _collection_images(shop: Shop, pks: list[int]) -> dict[int, str]:
    """A collection's picture: its first product's (collections carry none of their own here)."""
    found: dict[int, str] = {}
    rows = (CollectionMembership.objects.for_shop(shop).filter(collection_id__in=pks)
            .exclude(product__image_url="").order_by("collection_id", "position", "pk")
            .values_list("collection_id", "product__image_url"))
    for pk, image in rows[: len(pks) * 20]:
        found.setdefault(pk, image)
    return found


def search(shop: Shop, kind: str, words: str, limit: int = MAX_RESULTS) -> list[Choice]:
    """Products (live, not deleted) or collections of `shop` whose title contains `words`, shortest titles first
    (the closest match to what was typed), at most `limit`."""
    words = " ".join(words.split())[:MAX_QUERY]
    limit = max(1, min(MAX_RESULTS, limit))
    if kind == "product":
        rows = Product.objects.for_shop(shop).filter(deleted_at__isnull=True).exclude(status="archived")
        if words:
            rows = rows.filter(title__icontains=words)
        found = rows.order_by("title")[: limit * 5].values_list("platform_id", "title", "image_url")
        ranked = sorted(found, key=lambda r: (len(r[1]), r[1].lower()))[:limit] if words else list(found)[:limit]
        return [Choice(pid, title, safe_image(image)) for pid, title, image in ranked]
    rows = Collection.objects.for_shop(shop)
    if words:
        rows = rows.filter(title__icontains=words)
    found = list(rows.order_by("title").values_list("pk", "platform_id", "title")[:limit])
    images = _collection_images(shop, [pk for pk, _pid, _title in found])
    return [Choice(pid, title, safe_image(images.get(pk, ""))) for pk, pid, title in found]


def chosen(shop: Shop, kind: str, ids: list[str]) -> list[Choice]:
    """The items a rule names, in its order, with their titles and pictures (for the picker's chips)."""
    if not ids:
        return []
    if kind == "product":
        rows = {pid: (title, image) for pid, title, image in Product.objects.for_shop(shop)
                .filter(platform_id__in=ids).values_list("platform_id", "title", "image_url")}
        return [Choice(i, rows[i][0], safe_image(rows[i][1])) for i in ids if i in rows]
    rows = {pid: (pk, title) for pk, pid, title in Collection.objects.for_shop(shop)
            .filter(platform_id__in=ids).values_list("pk", "platform_id", "title")}
    images = _collection_images(shop, [pk for pk, _title in rows.values()])
    return [Choice(i, rows[i][1], safe_image(images.get(rows[i][0], ""))) for i in ids if i in rows]
