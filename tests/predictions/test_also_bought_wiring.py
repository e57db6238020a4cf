"""The nightly also-bought recompute backtests the shop and serves the winner: near popularity where co-purchases
are noise (a small catalogue), the similarity where they are real (a large one); a merchant's lift pick is served
only while it beats popularity, and the widgets screen says why."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from backend.catalog.models import Product, Variant
from backend.orders.models import LineItem, Order
from backend.predictions import also_bought_record
from backend.predictions.models import Backtest
from backend.recommendations import also_bought
from backend.recommendations.models import AlsoBoughtList, ItemStat
from backend.recommendations.registry import RecommendationContext, recommend
from backend.storefront.models import WidgetRule
from backend.storefront.rules import invalidate
from tests.dashboard.factories import session_token
from tests.dashboard.test_translations import visible_text
from tests.recommendations import factories as f

pytestmark = pytest.mark.django_db


def _catalogue(shop, n: int) -> list[int]:
    products = Product.objects.bulk_create([
        Product(shop=shop, platform_id=f"p{i}", title=f"P{i}", total_inventory=10, platform_created_at=timezone.now())
        for i in range(n)])
    Variant.objects.bulk_create([Variant(shop=shop, product=p, platform_id=f"v{p.platform_id}", price=10,
                                         inventory_quantity=10) for p in products])
    return [p.pk for p in products]


def _orders(shop, purchases: list[tuple[int, int, float]]) -> None:
    """(customer index, product pk, days ago): one order per purchase, written in bulk (no per-order hooks)."""
    customers = {c: f.customer(shop).pk for c in sorted({c for c, _, _ in purchases})}
    now = timezone.now()
    orders = Order.objects.bulk_create([
        Order(shop=shop, platform_id=f"o{n}", customer_id=customers[c], processed_at=now - timedelta(days=ago))
        for n, (c, _, ago) in enumerate(purchases)])
    LineItem.objects.bulk_create([
        LineItem(shop=shop, order=o, platform_id=f"l{o.platform_id}", product_id=p, quantity=1, price=10)
        for o, (_, p, _) in zip(orders, purchases, strict=True)])


def _small_noise_shop(shop, seed: int = 3) -> list[int]:
    """40 products; every purchase is an independent draw from one popularity curve: pairs are coincidences."""
    pks = _catalogue(shop, 40)
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, 41)
    p /= p.sum()
    purchases = []
    for c in range(300):
        for _ in range(int(rng.integers(2, 6))):
            purchases.append((c, pks[int(rng.choice(40, p=p))], float(rng.uniform(0, 360))))
    _orders(shop, purchases)
    return pks


def _served_vs_popularity(shop, row: Backtest) -> tuple[float, float]:
    """recall@10 on the backtest's held-out window of what the widget serves on each returning customer's last
    product page before it, and of plain bestsellers (ItemStat), both minus what they had bought."""
    cut = timezone.make_aware(timezone.datetime.combine(row.cut, timezone.datetime.min.time()))
    best = list(ItemStat.objects.for_shop(shop).order_by("-weight", "product_id").values_list("product_id", flat=True))
    served_r, pop_r = [], []
    for customer in {o.customer_id for o in Order.objects.for_shop(shop)}:
        lines = LineItem.objects.for_shop(shop).filter(order__customer_id=customer).order_by("order__processed_at")
        before = [li.product_id for li in lines if li.order.processed_at < cut]
        after = {li.product_id for li in lines if li.order.processed_at >= cut} - set(before)
        if not before or not after:
            continue
        # As a guest: the known customer's exclusions would also drop what they bought in the window itself.
        served = recommend(shop, "also_bought", RecommendationContext(product_id=before[-1], limit=10,
                                                                      exclude=frozenset(before)))
        popular = [p for p in best if p not in before][:10]
        served_r.append(len(after & set(served)) / len(after))
        pop_r.append(len(after & set(popular)) / len(after))
    assert len(served_r) > 20
    return float(np.mean(served_r)), float(np.mean(pop_r))


def test_small_catalogue_of_noise_serves_close_to_popularity_and_no_worse(shop):
    _small_noise_shop(shop)
    result = also_bought.full_recompute(shop)
    row = also_bought_record.latest_row(shop.pk)
    assert row is not None and row.n_customers > 20 and "popularity" in row.metrics
    assert result["chosen"]["blend"] >= 0.75, row.chosen
    served, popularity = _served_vs_popularity(shop, row)
    assert served >= popularity, (served, popularity)


def test_large_shop_with_real_pairs_keeps_the_similarity(shop):
    pks = _catalogue(shop, 200)
    rng = np.random.default_rng(1)
    p = 1 / np.arange(1, 201)
    p /= p.sum()
    purchases = []
    for c in range(1200):
        first = int(rng.choice(200, p=p))
        first -= first % 2
        start = float(rng.uniform(70, 360))
        purchases += [(c, pks[first], start), (c, pks[first + 1], start - float(rng.uniform(5, 60)))]
    _orders(shop, purchases)
    pick = also_bought.full_recompute(shop)["chosen"]
    assert pick["blend"] <= 0.25 and pick["algorithm"] != "lift", pick
    # Who looks at 2i is shown 2i+1 first.
    for i in (0, 2, 10):
        assert also_bought.stored_neighbours(shop, pks[i])[0] == pks[i + 1]


def test_lift_is_served_only_when_it_beats_popularity_and_the_screen_says_why(shop, client):
    pks = _small_noise_shop(shop, seed=5)
    WidgetRule.objects.create(shop=shop, widget="also_bought", algorithm="lift")
    invalidate(shop.pk)
    pick = also_bought.full_recompute(shop)["chosen"]
    assert not pick["lift_ok"]
    row = also_bought_record.latest_row(shop.pk)
    assert row.metrics["lift+0.00pop"]["recall"] <= row.metrics["popularity"]["recall"]
    assert not AlsoBoughtList.objects.for_shop(shop).filter(algorithm="lift").exists()
    for pk in pks[:3]:
        assert also_bought.stored_neighbours(shop, pk, "lift") == also_bought.stored_neighbours(shop, pk, "")
    text = visible_text(client.get(f"/admin/widgets/?lang=en&id_token={session_token(shop)}").content.decode())
    assert "Surprising pairs did no better than bestsellers on your own recent orders" in text
    es = visible_text(client.get(f"/admin/widgets/?lang=es&id_token={session_token(shop)}").content.decode())
    assert "Parejas sorprendentes no lo hizo mejor que los más vendidos" in es
    assert "clientes que volvieron" in es


def test_lift_that_wins_keeps_its_lists(shop):
    pks = _catalogue(shop, 40)
    rng = np.random.default_rng(2)
    purchases = []
    for c in range(400):  # niche pairs: whoever buys 2i later buys 2i+1, popularity is flat
        first = int(rng.integers(0, 20)) * 2
        start = float(rng.uniform(70, 360))
        purchases += [(c, pks[first], start), (c, pks[first + 1], start - float(rng.uniform(5, 60)))]
    _orders(shop, purchases)
    WidgetRule.objects.create(shop=shop, widget="also_bought", algorithm="lift")
    invalidate(shop.pk)
    assert also_bought.full_recompute(shop)["chosen"]["lift_ok"]
    assert AlsoBoughtList.objects.for_shop(shop).filter(algorithm="lift").exists()
    assert also_bought.stored_neighbours(shop, pks[4], "lift")[0] == pks[5]


def test_the_nightly_task_result_is_plain_json(shop):
    import json

    from backend.recommendations.tasks import recompute_shop

    _small_noise_shop(shop)
    result = recompute_shop(shop.pk)
    assert json.loads(json.dumps(result))["chosen"]["algorithm"] in {"bm25", "cosine", "jaccard", "lift"}


def test_a_new_order_keeps_the_touched_lists_on_the_chosen_blend(shop):
    pks = _small_noise_shop(shop)
    assert also_bought.full_recompute(shop)["chosen"]["blend"] == 1.0
    before = also_bought.stored_neighbours(shop, pks[20])
    buyer = f.customer(shop)
    o = Order.objects.create(shop=shop, platform_id="new", customer=buyer, processed_at=timezone.now())
    LineItem.objects.create(shop=shop, order=o, platform_id="new-1", product_id=pks[20], quantity=1, price=10)
    LineItem.objects.create(shop=shop, order=o, platform_id="new-2", product_id=pks[39], quantity=1, price=10)
    assert also_bought.update_for_products(shop, [pks[20], pks[39]]) == 2
    after = also_bought.stored_neighbours(shop, pks[20])
    # Still the bestsellers (popularity serves this shop), not the one co-purchase the new order made.
    assert after[:5] == before[:5] and after[0] != pks[39]
