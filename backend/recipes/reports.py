"""What each recipe earned in the last 30 days: emails sent, emails clicked, orders and revenue attributed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from backend.emails.models import EmailClick, EmailConversion, EmailSend
from backend.shops.models import Shop


@dataclass
class Results:
    sent: int = 0
    clicked: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    steps: dict[int, dict] = field(default_factory=dict)  # step index -> the same four figures


def last_days(shop: Shop, days: int = 30, now: datetime | None = None) -> dict[int, Results]:
    since = (now or timezone.now()) - timedelta(days=days)
    out: dict[int, Results] = {}

    def slot(recipe_id: int, step: int) -> dict:
        res = out.setdefault(recipe_id, Results())
        return res.steps.setdefault(step, {"sent": 0, "clicked": 0, "orders": 0, "revenue": Decimal("0.00")})

    for row in EmailSend.objects.for_shop(shop).filter(
            status=EmailSend.Status.SENT, is_test=False, sent_at__gte=since, recipe__isnull=False).values(
            "recipe_id", "step").annotate(n=Count("pk")).order_by():
        slot(row["recipe_id"], row["step"])["sent"] += row["n"]
        out[row["recipe_id"]].sent += row["n"]
    for row in EmailClick.objects.for_shop(shop).filter(clicked_at__gte=since, send__recipe__isnull=False).values(
            "send__recipe_id", "send__step").annotate(n=Count("send_id", distinct=True)).order_by():
        slot(row["send__recipe_id"], row["send__step"])["clicked"] += row["n"]
        out[row["send__recipe_id"]].clicked += row["n"]
    for row in EmailConversion.objects.for_shop(shop).filter(ordered_at__gte=since, recipe__isnull=False).values(
            "recipe_id", "step").annotate(n=Count("pk"), revenue=Sum("revenue")).order_by():
        s = slot(row["recipe_id"], row["step"])
        s["orders"] += row["n"]
        s["revenue"] += row["revenue"] or 0
        out[row["recipe_id"]].orders += row["n"]
        out[row["recipe_id"]].revenue += row["revenue"] or 0
    return out
