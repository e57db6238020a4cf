"""Home's scoreboard: what the app earned the shop in a period against the period before, and what earned it.

Read from the daily rollups only (the figures Analytics shows): click-through orders and revenue are the app's
(a shopper clicked a recommendation or popup, then bought); view-through is shown apart and never added in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from backend.shops.models import Shop

from .models import DailyRollup

BEST = 3  # sources listed under "what earned it"


@dataclass(frozen=True)
class Figure:
    now: Decimal | int | float | None
    before: Decimal | int | float | None

    @property
    def change(self) -> float | None:
        """Relative change against the previous period; None when there is nothing to compare with."""
        if self.now is None or not self.before:
            return None
        return float((Decimal(str(self.now)) - Decimal(str(self.before))) / Decimal(str(self.before)))


@dataclass(frozen=True)
class Source:
    kind: str
    key: str
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class Scoreboard:
    days: int
    start: date
    previous_start: date
    revenue: Figure
    orders: Figure
    click_to_order: Figure  # attributed orders per click on a recommendation or popup
    view_revenue: Figure
    view_orders: Figure
    best: list[Source]

    @property
    def empty(self) -> bool:
        return not (self.revenue.now or self.orders.now or self.view_orders.now or self.revenue.before)


def _sums(shop: Shop, start: date, end: date) -> dict:
    rows = DailyRollup.objects.for_shop(shop).filter(day__gte=start, day__lte=end).exclude(source_kind="shop")
    found = rows.aggregate(revenue=Sum("revenue"), orders=Sum("orders"), clicks=Sum("clicks"),
                           view_revenue=Sum("view_revenue"), view_orders=Sum("view_orders"))
    return {k: v or 0 for k, v in found.items()}


def scoreboard(shop: Shop, days: int) -> Scoreboard:
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    previous_start = start - timedelta(days=days)
    now, before = _sums(shop, start, today), _sums(shop, previous_start, start - timedelta(days=1))

    def rate(s: dict) -> float | None:
        return s["orders"] / s["clicks"] if s["clicks"] else None

    best_rows = (DailyRollup.objects.for_shop(shop).filter(day__gte=start, day__lte=today)
                 .exclude(source_kind="shop").values("source_kind", "source_key")
                 .annotate(revenue=Sum("revenue"), orders=Sum("orders")).filter(revenue__gt=0)
                 .order_by("-revenue", "source_kind", "source_key")[:BEST])
    return Scoreboard(
        days=days, start=start, previous_start=previous_start,
        revenue=Figure(Decimal(now["revenue"]), Decimal(before["revenue"])),
        orders=Figure(now["orders"], before["orders"]),
        click_to_order=Figure(rate(now), rate(before)),
        view_revenue=Figure(Decimal(now["view_revenue"]), Decimal(before["view_revenue"])),
        view_orders=Figure(now["view_orders"], before["view_orders"]),
        best=[Source(r["source_kind"], r["source_key"], r["revenue"], r["orders"]) for r in best_rows],
    )
