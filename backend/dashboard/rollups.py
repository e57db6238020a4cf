"""Daily rollups: each day × widget / popup / shop computed once by Celery, so analytics pages read a few rows.

Days are UTC days. A day is recomputed while orders can still be attributed to its clicks (the attribution window),
so the job recomputes the last `window + 1` days each run; rows are upserted, so reruns are harmless.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from backend.customers import metrics
from backend.customers.models import CustomerProfile
from backend.events.models import Event, EventType
from backend.orders.models import Order
from backend.shops.models import Shop

from .attribution import attribute
from .models import DailyRollup, ShopSettings

VALUE_BUCKETS = (0, 25, 50, 100, 250, 500, 1000)  # predicted 365-day value, shop currency


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _value_distribution(shop_id: int) -> list[dict]:
    values = CustomerProfile.objects.for_shop(shop_id).filter(
        is_active=True, expected_value_365__isnull=False).values_list("expected_value_365", flat=True)
    counts = [0] * len(VALUE_BUCKETS)
    for value in values.iterator(chunk_size=5000):
        idx = max(i for i, low in enumerate(VALUE_BUCKETS) if value >= low) if value >= 0 else 0
        counts[idx] += 1
    labels = [f"{low}–{VALUE_BUCKETS[i + 1]}" if i + 1 < len(VALUE_BUCKETS) else f"{low}+"
              for i, low in enumerate(VALUE_BUCKETS)]
    return [{"label": label, "count": c} for label, c in zip(labels, counts, strict=True)]


def _ratio(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def compute_day(shop: Shop, day: date, window_days: int, with_shop_metrics: bool = False) -> int:
    """Write every rollup row of `day`; returns how many rows."""
    start, end = day_bounds(day)
    rows: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(lambda: 0))
    counts = (
        Event.objects.for_shop(shop).filter(created_at__gte=start, created_at__lt=end)
        .exclude(widget="").values("type", "widget").annotate(n=Count("id"))
    )
    fields = {
        EventType.WIDGET_IMPRESSION: ("widget", "impressions"), EventType.WIDGET_CLICK: ("widget", "clicks"),
        EventType.ADDED_TO_CART: ("widget", "add_to_carts"), EventType.POPUP_SHOWN: ("popup", "impressions"),
        EventType.POPUP_CONVERTED: ("popup", "clicks"),
    }
    for c in counts:
        if c["type"] in fields:
            kind, name = fields[c["type"]]
            rows[(kind, c["widget"][:100])][name] += c["n"]
    for (kind, key), earned in attribute(shop, start, end, window_days).items():
        row = rows[(kind, key[:100])]
        row["orders"] = len(earned.orders)
        row["revenue"] = earned.revenue
        row["view_orders"] = len(earned.view_orders)
        row["view_revenue"] = earned.view_revenue
        row["discount_cost"] = earned.discount_cost

    orders = Order.objects.for_shop(shop).filter(processed_at__gte=start, processed_at__lt=end,
                                                 cancelled_at__isnull=True)
    channels = {
        r["channel"]: str(r["revenue"] - r["refunded"])
        for r in orders.values("channel").annotate(revenue=Sum("total_price"), refunded=Sum("total_refunded"))
    }
    net = sum((Decimal(v) for v in channels.values()), Decimal(0))
    n_orders = orders.count()
    extra: dict = {"channels": channels}
    if with_shop_metrics:  # trailing 30 days, written on the newest day only (the pages show the latest)
        m_start = end - timedelta(days=30)
        extra["metrics"] = {
            "aov": str(metrics.average_order_value(shop, m_start, end) or ""),
            "conversion_rate": _ratio(metrics.conversion_rate(shop, m_start, end).value),
            "retention_rate": _ratio(metrics.retention_rate(shop, m_start, end).value),
            "repeat_purchase_rate": _ratio(metrics.repeat_purchase_rate(shop).value),
        }
        extra["value_distribution"] = _value_distribution(shop.pk)
    rows[("shop", "shop")].update({"orders": n_orders, "revenue": net, "extra": extra})

    now = timezone.now()
    with transaction.atomic():
        DailyRollup.objects.for_shop(shop).filter(day=day).delete()
        DailyRollup.objects.bulk_create([
            DailyRollup(shop=shop, day=day, source_kind=kind, source_key=key, computed_at=now, **dict(values))
            for (kind, key), values in rows.items()
        ])
    return len(rows)


def rollup_shop(shop: Shop, days: int | None = None, today: date | None = None) -> int:
    window = ShopSettings.of(shop).attribution_window_days
    today = today or timezone.now().date()
    days = days or window + 1
    written = 0
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        written += compute_day(shop, day, window, with_shop_metrics=offset == 0)
    return written
