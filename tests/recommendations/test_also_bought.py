"""Also-bought on a small order history with a planted co-purchase structure: jackets go with hats and gloves,
one product is a global bestseller bought with everything."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backend.catalog.models import CollectionMembership
from backend.recommendations import also_bought
from backend.recommendations.complementary import save_rule
from backend.recommendations.models import AlsoBoughtList, ProductPreference, SalesBucket
from backend.recommendations.registry import RecommendationContext, recommend
from backend.recommendations.tasks import order_recorded

from . import factories as f


@pytest.fixture
def store(shop):
    now = timezone.now()
    s = {name: f.product(shop, name) for name in ("jacket", "hat", "gloves", "bestseller", "scarf", "socks")}
    fillers = [f.product(shop, f"filler{i}") for i in range(10)]
    s["jackets"] = f.collection(shop, [s["jacket"]], "Jackets")
    s["accessories"] = f.collection(shop, [s["hat"], s["gloves"], s["scarf"]], "Accessories")
    for i in range(12):
        c = f.customer(shop)
        if i % 3 == 0:  # bought on two visits, one of them in the physical shop: still one customer's basket
            f.order(shop, [s["jacket"]], c, when=now - timedelta(days=i + 5), channel="pos")
            f.order(shop, [s["hat"], s["gloves"]], c, when=now - timedelta(days=i + 1))
        else:
            f.order(shop, [s["jacket"], s["hat"], s["gloves"]], c, when=now - timedelta(days=i + 1))
        if i < 4:
            f.order(shop, [s["bestseller"]], c, when=now - timedelta(days=i))
    for i in range(24):  # guests buying the bestseller with whatever
        f.order(shop, [s["bestseller"], fillers[i % 10]], when=now - timedelta(hours=i))
    also_bought.full_recompute(shop)
    s["fillers"] = fillers
    return s


def ab(shop, product, **kw):
    return recommend(shop, "also_bought", RecommendationContext(product_id=product.pk, limit=kw.pop("limit", 4), **kw))


def test_jacket_gets_hat_and_gloves_before_the_bestseller(shop, store):
    stored = also_bought.stored_neighbours(shop, store["jacket"].pk)
    assert stored[:2] and set(stored[:2]) == {store["hat"].pk, store["gloves"].pk}
    assert store["bestseller"].pk in stored  # it was bought with jackets: it may show, but after them
    recs = ab(shop, store["jacket"])
    assert set(recs[:2]) == {store["hat"].pk, store["gloves"].pk}
    assert recs.index(store["bestseller"].pk) > 1 if store["bestseller"].pk in recs else True


def test_every_similarity_ranks_the_planted_pairs_first(shop, store):
    also_bought.full_recompute(shop, ["bm25", "cosine", "lift", "jaccard"])
    for algorithm in ("bm25", "cosine", "lift", "jaccard"):
        recs = ab(shop, store["jacket"], algorithm=algorithm)
        assert set(recs[:2]) == {store["hat"].pk, store["gloves"].pk}, algorithm
        assert AlsoBoughtList.objects.for_shop(shop).filter(algorithm=algorithm, product=store["jacket"]).exists()


def test_never_self_out_of_stock_excluded_or_already_bought(shop, store):
    jacket, hat, gloves = store["jacket"], store["hat"], store["gloves"]
    assert jacket.pk not in ab(shop, jacket, limit=20)
    assert hat.pk not in ab(shop, jacket, exclude=frozenset({hat.pk}), limit=20)

    buyer = f.customer(shop)
    f.order(shop, [hat], buyer)
    mine = ab(shop, jacket, customer_id=buyer.pk, limit=20)
    assert hat.pk not in mine and gloves.pk in mine
    ProductPreference.objects.create(shop=shop, product=hat, rebuyable=True)
    assert hat.pk in ab(shop, jacket, customer_id=buyer.pk, limit=20)

    gloves.total_inventory = 0
    gloves.save()
    gloves.variants.update(inventory_quantity=0)
    assert gloves.pk not in ab(shop, jacket, limit=20)
    gloves.total_inventory, gloves.available_for_sale = 5, False
    gloves.save()
    assert gloves.pk not in ab(shop, jacket, limit=20)


def test_cancelled_orders_and_refunded_lines_do_not_count(shop, store):
    jacket = store["jacket"]
    cancelled, refunded = f.product(shop, "cancelled"), f.product(shop, "refunded")
    for _ in range(6):
        f.order(shop, [jacket, cancelled], f.customer(shop), cancelled_at=timezone.now())
        o = f.order(shop, [jacket, refunded], f.customer(shop))
        o.line_items.filter(product=refunded).update(refunded_quantity=1)
    also_bought.full_recompute(shop)
    stored = also_bought.stored_neighbours(shop, jacket.pk)
    assert cancelled.pk not in stored and refunded.pk not in stored
    assert store["hat"].pk in stored


def test_a_new_order_moves_the_pair_within_seconds(shop, store):
    jacket, newcomer = store["jacket"], f.product(shop, "new beanie")
    assert newcomer.pk not in also_bought.stored_neighbours(shop, jacket.pk)
    for _ in range(3):  # minimum support is 3 co-purchases
        o = f.order(shop, [jacket, newcomer], f.customer(shop))
        started = time.perf_counter()
        result = order_recorded(shop.pk, o.pk)
        assert time.perf_counter() - started < 3.0
        assert result["lists"] == 2
    assert newcomer.pk in also_bought.stored_neighbours(shop, jacket.pk)
    assert jacket.pk in also_bought.stored_neighbours(shop, newcomer.pk)
    assert newcomer.pk in ab(shop, jacket, limit=8)
    # and the same order reached the live bestseller counters
    assert SalesBucket.objects.for_shop(shop).filter(product=newcomer, segment="").exists()


def test_order_recorded_is_idempotent(shop, store):
    o = f.order(shop, [store["scarf"], store["socks"]], f.customer(shop))
    assert order_recorded(shop.pk, o.pk)["lines"] == 2
    assert order_recorded(shop.pk, o.pk) == {"lines": 0, "lists": 0}
    units = SalesBucket.objects.for_shop(shop).filter(product=store["scarf"], segment="").values_list("units",
                                                                                                      flat=True)
    assert list(units) == [1]


def test_order_save_schedules_the_update_after_commit(shop, store, eager_celery,
                                                      django_capture_on_commit_callbacks):
    socks = store["socks"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        f.order(shop, [socks, store["scarf"]], f.customer(shop))
    ours = [c for c in callbacks if getattr(c, "reco_key", None)]
    assert len(ours) == 1  # one order + two lines saved -> one task
    assert SalesBucket.objects.for_shop(shop).filter(product=socks, segment="", units=1).exists()


def test_product_without_orders_still_gets_items(shop, store):
    lonely = f.product(shop, "lonely jacket")
    CollectionMembership.objects.create(shop=shop, collection=store["jackets"], product=lonely, position=1)
    assert not AlsoBoughtList.objects.for_shop(shop).filter(product=lonely).exists()
    recs = ab(shop, lonely, limit=4)
    assert len(recs) == 4 and lonely.pk not in recs
    assert recs[0] == store["jacket"].pk  # same collection comes before shop-wide bestsellers
    # co-viewed in the same sessions beats the same-collection fallback
    for n in range(3):
        f.view(shop, f"v{n}", lonely, session=f"s{n}")
        f.view(shop, f"v{n}", store["socks"], session=f"s{n}")
    from django.core.cache import cache

    cache.clear()
    assert ab(shop, lonely, limit=4)[0] == store["socks"].pk


def test_never_empty_even_without_any_order(other_shop):
    products = [f.product(other_shop, f"p{i}") for i in range(5)]
    assert also_bought.full_recompute(other_shop)["lines"] == 0  # an empty history recomputes cleanly
    recs = ab(other_shop, products[0], limit=3)
    assert len(recs) == 3 and products[0].pk not in recs


def test_complementary_rule_mixes_in_first(shop, store):
    save_rule(shop, source_collection=store["jackets"].pk, target_products=[store["socks"].pk])
    recs = ab(shop, store["jacket"], limit=4)
    assert recs[0] == store["socks"].pk
    assert set(recs[1:3]) & {store["hat"].pk, store["gloves"].pk}


def test_complementary_rule_validation(shop, other_shop, store):
    foreign = f.product(other_shop, "foreign")
    with pytest.raises(ValidationError):
        save_rule(shop, source_product=store["jacket"].pk, target_products=[foreign.pk])
    with pytest.raises(ValidationError):
        save_rule(shop, target_products=[store["hat"].pk])
    with pytest.raises(ValidationError):
        save_rule(shop, source_product=store["jacket"].pk, source_collection=store["jackets"].pk,
                  target_products=[store["hat"].pk])
    with pytest.raises(ValidationError):
        save_rule(shop, source_product=store["jacket"].pk, target_products=[store["jacket"].pk])
    with pytest.raises(ValidationError):
        save_rule(shop, source_product=store["jacket"].pk)
    rule = save_rule(shop, source_product=store["jacket"].pk, target_collections=[store["accessories"].pk])
    assert list(rule.target_collections.values_list("pk", flat=True)) == [store["accessories"].pk]


def test_shops_never_mix(shop, other_shop, store):
    other = f.product(other_shop, "elsewhere")
    for _ in range(4):
        f.order(other_shop, [other, f.product(other_shop, "x")], f.customer(other_shop))
    also_bought.full_recompute(other_shop)
    recs = ab(shop, store["jacket"], limit=20)
    assert other.pk not in recs
    assert all(pk not in recs for pk in also_bought.stored_neighbours(other_shop, other.pk))


def test_lines_are_read_as_numbers_with_the_right_time_and_basket(shop):
    from datetime import UTC, datetime

    a, b = f.product(shop, "a"), f.product(shop, "b")
    when = datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    guest = f.order(shop, [a, b], when=when)
    buyer = f.customer(shop)
    f.order(shop, [a], buyer, when=when)
    f.order(shop, [b], buyer, when=when)
    keys, products, times = also_bought._line_arrays(
        also_bought._lines(shop, datetime(2000, 1, 1, tzinfo=UTC)).order_by("pk"))
    assert list(keys) == [guest.pk * 2 + 1] * 2 + [buyer.pk * 2] * 2  # a customer's orders form one basket
    assert list(products) == [a.pk, b.pk, a.pk, b.pk]
    assert times == pytest.approx([when.timestamp()] * 4, abs=1e-3)
