"""The thin-data chain's co-viewed step ranks by Jaccard over sessions, so the most viewed product does not
top every list."""
from __future__ import annotations

from backend.recommendations.fallback import co_viewed

from . import factories as f


def test_co_viewed_normalises_popular_products(shop):
    x, niche, popular = f.product(shop, "x"), f.product(shop, "niche"), f.product(shop, "popular")
    for n in range(3):  # niche is viewed only with x
        f.view(shop, f"a{n}", x, session=f"a{n}")
        f.view(shop, f"a{n}", niche, session=f"a{n}")
    for n in range(4):  # popular is viewed with x a bit more often, and in 30 other sessions too
        f.view(shop, f"b{n}", x, session=f"b{n}")
        f.view(shop, f"b{n}", popular, session=f"b{n}")
    for n in range(30):
        f.view(shop, f"c{n}", popular, session=f"c{n}")
    assert co_viewed(shop, x.pk) == [niche.pk, popular.pk]
    assert co_viewed(shop, niche.pk) == [x.pk]


def test_sessionless_views_are_ignored(shop):
    x, y = f.product(shop, "x"), f.product(shop, "y")
    from backend.events.models import Event, EventType

    for p in (x, y):
        Event.objects.create(shop=shop, type=EventType.PRODUCT_VIEWED, product=p)  # no consent: no session
    assert co_viewed(shop, x.pk) == []
