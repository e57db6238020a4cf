"""Shop-level customer metrics, each with the definition the admin shows next to it (es/en).

People are profiles (one per person across channels), orders exclude cancelled ones and count net of refunds.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from backend.shops.models import Shop

from .models import CustomerProfile, Identity

# A session "has an order" when the same person ordered between its first event and this long after its last.
SESSION_ORDER_GRACE = timedelta(minutes=30)

DEFINITIONS: dict[str, dict[str, str]] = {
    "retention_rate": {
        "en": "Retention rate: of the customers who had bought before the period started, the share who bought "
              "again during the period.",
        "es": "Tasa de retención: de los clientes que habían comprado antes de empezar el periodo, la proporción "
              "que volvió a comprar durante el periodo.",
    },
    "repeat_purchase_rate": {
        "en": "Repeat-purchase rate: of the customers with at least one order, the share with two or more.",
        "es": "Tasa de recompra: de los clientes con al menos un pedido, la proporción con dos o más.",
    },
    "aov": {
        "en": "Average order value: revenue net of refunds divided by orders in the period (cancelled orders "
              "excluded).",
        "es": "Valor medio del pedido: ingresos netos de reembolsos divididos entre los pedidos del periodo (sin "
              "pedidos cancelados).",
    },
    "conversion_rate": {
        "en": "Conversion rate: storefront sessions in which the shopper placed an order, divided by all sessions "
              "in the period.",
        "es": "Tasa de conversión: sesiones en la tienda en las que el comprador hizo un pedido, divididas entre "
              "todas las sesiones del periodo.",
    },
}


@dataclass(frozen=True)
class Ratio:
    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _shop_id(shop: Shop | int) -> int:
    return shop if isinstance(shop, int) else shop.pk


def _orders(shop_id: int):  # noqa: ANN202 - a queryset
    from backend.orders.models import Order

    return Order.objects.for_shop(shop_id).filter(cancelled_at__isnull=True).annotate(
        when=Coalesce("processed_at", "platform_created_at"))


def _profile_of_customer(shop_id: int) -> dict[int, int]:
    return dict(Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER, customer__isnull=False)
                .values_list("customer_id", "profile_id"))


def _person(customer_id: int, owners: dict[int, int]) -> tuple[str, int]:
    # A customer without a profile yet still counts as one person.
    pid = owners.get(customer_id)
    return ("p", pid) if pid is not None else ("c", customer_id)


def retention_rate(shop: Shop | int, start: datetime, end: datetime) -> Ratio:
    """Customers who bought in [start, end) among those who had bought before `start`."""
    shop_id = _shop_id(shop)
    owners = _profile_of_customer(shop_id)
    orders = _orders(shop_id).filter(customer__isnull=False)
    before = {_person(c, owners) for c in orders.filter(when__lt=start).values_list("customer_id", flat=True)}
    during = {_person(c, owners) for c in orders.filter(when__gte=start, when__lt=end)
              .values_list("customer_id", flat=True)}
    return Ratio(len(before & during), len(before))


def repeat_purchase_rate(shop: Shop | int) -> Ratio:
    qs = CustomerProfile.objects.for_shop(_shop_id(shop)).filter(is_active=True)
    agg = qs.aggregate(buyers=Count("pk", filter=Q(orders_count__gte=1)),
                       repeat=Count("pk", filter=Q(orders_count__gte=2)))
    return Ratio(agg["repeat"] or 0, agg["buyers"] or 0)


def average_order_value(shop: Shop | int, start: datetime, end: datetime) -> Decimal | None:
    agg = _orders(_shop_id(shop)).filter(when__gte=start, when__lt=end).aggregate(
        n=Count("pk"),
        net=Sum(F("total_price") - F("total_refunded"), output_field=DecimalField()),
    )
    if not agg["n"]:
        return None
    return (Decimal(agg["net"] or 0) / agg["n"]).quantize(Decimal("0.01"))


def conversion_rate(shop: Shop | int, start: datetime, end: datetime) -> Ratio:
    """Sessions (Event.session_id) with an order by the same person ÷ all sessions that started in the period."""
    from backend.events.models import Event, VisitorIdentity

    shop_id = _shop_id(shop)
    sessions = list(
        Event.objects.for_shop(shop_id).exclude(session_id="")
        .values("session_id")
        .annotate(first=Min("created_at"), last=Max("created_at"), customer=Max("customer_id"),
                  visitor=Max("visitor_id"))
        .filter(first__gte=start, first__lt=end)
    )
    if not sessions:
        return Ratio(0, 0)
    visitors = {s["visitor"] for s in sessions if s["visitor"] and not s["customer"]}
    linked = dict(VisitorIdentity.objects.for_shop(shop_id).filter(visitor_id__in=visitors)
                  .values_list("visitor_id", "customer_id")) if visitors else {}
    customers = {s["customer"] or linked.get(s["visitor"]) for s in sessions} - {None}
    times: dict[int, list[datetime]] = defaultdict(list)
    for cid, when in (_orders(shop_id).filter(customer_id__in=customers, when__gte=start,
                                              when__lt=end + SESSION_ORDER_GRACE)
                      .values_list("customer_id", "when")):
        times[cid].append(when)
    for v in times.values():
        v.sort()
    converted = 0
    for s in sessions:
        cid = s["customer"] or linked.get(s["visitor"])
        ts = times.get(cid, [])
        i = bisect.bisect_left(ts, s["first"])
        if i < len(ts) and ts[i] <= s["last"] + SESSION_ORDER_GRACE:
            converted += 1
    return Ratio(converted, len(sessions))


def shop_metrics(shop: Shop | int, start: datetime, end: datetime) -> dict[str, object]:
    """Everything the admin shows for the period, with its definition."""
    return {
        "retention_rate": retention_rate(shop, start, end).value,
        "repeat_purchase_rate": repeat_purchase_rate(shop).value,
        "aov": average_order_value(shop, start, end),
        "conversion_rate": conversion_rate(shop, start, end).value,
        "definitions": DEFINITIONS,
    }
