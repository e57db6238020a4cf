"""Product cards read in one hand-written query give the cards the models give, for every shape of product: what
a shopper sees (price, "was" price, stock, whether it shows at all) must not depend on how it was read."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.catalog.models import Product, Variant
from backend.storefront import cards, hotcache
from tests.storefront.factories import make_product

pytestmark = pytest.mark.django_db


def variant(product, platform_id: str, price: str, **kw) -> Variant:
    return Variant.objects.create(shop=product.shop, product=product, platform_id=platform_id, price=Decimal(price),
                                  **kw)


@pytest.fixture
def catalogue(shop, other_shop):
    plain = make_product(shop, title="Plain «édition» <b>", price="19.95", compare_at_price="25.00")
    no_discount = make_product(shop, title="Was lower", price="30.00", compare_at_price="20.00")
    sold_out = make_product(shop, title="Sold out", stock=0)
    untracked = make_product(shop, title="Made to order", stock=0, tracked=False)
    several = make_product(shop, title="Sizes", price="12.50", stock=0)
    variant(several, "s-cheap-but-gone", "9.99", inventory_quantity=0)
    variant(several, "s-ok", "14.10", inventory_quantity=3, compare_at_price=Decimal("20.00"))
    variant(several, "s-hidden", "8.00", inventory_quantity=9, available_for_sale=False)
    no_variants = Product.objects.create(shop=shop, platform_id="nv", title="No variants", handle="nv",
                                         total_inventory=4)
    draft = make_product(shop, title="Draft", status="draft")
    deleted = make_product(shop, title="Deleted", deleted_at=timezone.now())
    unavailable = make_product(shop, title="Off sale", available_for_sale=False)
    linked = make_product(shop, title="Own URL", url="https://shop.example/p/own", handle="")
    foreign = make_product(other_shop, title="Another shop's")
    return [plain, no_discount, sold_out, untracked, several, no_variants, draft, deleted, unavailable, linked,
            foreign]


def orm_cards(shop_id: int, pks: list[int]) -> dict[int, cards.Card]:
    """The cards as the models give them: the product rows with their variants prefetched."""
    products = Product.objects.for_shop(shop_id).filter(pk__in=pks).prefetch_related("variants")
    return {p.pk: cards._card(p, list(p.variants.all())) for p in products}


def test_the_query_gives_the_same_cards_as_the_models(shop, catalogue):
    pks = [p.pk for p in catalogue] + [10**9]  # and one that does not exist
    loaded = cards._load(shop.pk, pks)
    expected = orm_cards(shop.pk, pks)
    assert set(loaded) == set(expected) == {p.pk for p in catalogue[:-1]}, "only this shop's products"
    for pk, card in expected.items():
        assert loaded[pk] == card, card.title
        assert loaded[pk].units == card.units
    by_title = {c.title: c for c in loaded.values()}
    assert by_title["Sizes"].price == Decimal("14.10") and by_title["Sizes"].variant_id == "s-ok"
    assert by_title["Sizes"].compare_at_price == Decimal("20.00") and by_title["Sizes"].units == 3
    assert by_title["Was lower"].compare_at_price is None
    assert by_title["Made to order"].showable and by_title["Made to order"].units == float("inf")
    assert not any(by_title[t].showable for t in ("Sold out", "Draft", "Deleted", "Off sale"))
    assert by_title["No variants"].showable and by_title["No variants"].price is None


def test_cards_read_the_catalogue_once_then_never_while_warm(shop, catalogue):
    hotcache.cards.clear()
    pks = [p.pk for p in catalogue]
    tables = (Product._meta.db_table, Variant._meta.db_table)

    def catalogue_queries(run) -> tuple[object, int]:  # noqa: ANN001
        with CaptureQueriesContext(connection) as ctx:
            result = run()
        return result, sum(any(t in q["sql"] for t in tables) for q in ctx.captured_queries)

    first, reads = catalogue_queries(lambda: cards.cards(shop.pk, pks))
    assert reads == 1, "products and variants in one query"
    again, reads = catalogue_queries(lambda: cards.cards(shop.pk, pks))
    assert reads == 0 and again == first
    assert not again[catalogue[-1].pk].showable, "another shop's product never shows"
