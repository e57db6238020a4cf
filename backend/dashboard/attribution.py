"""What each widget and popup earned: orders and revenue attributed honestly.

Click-through (the figure merchants are shown as "attributed"): an order line for product P counts for widget W when
- the line itself says so (the `_personalize_widget` line property set when the shopper added from W), or
- the order's visitor (its `_personalize_visitor` cart attribute, or a visitor stitched to its customer) clicked
  P in W within the attribution window before the order.
Each line is attributed once, to the latest such click, however many clicks there were. Revenue is the line's
net of discounts and refunds. View-through (the visitor saw W, clicked nothing that matched) is computed apart and
never added to click-through. A popup earns the orders its converted visitors placed within the window; its cost
is those orders' discounts.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from backend.events.models import Event, EventType, VisitorIdentity
from backend.orders.evidence import visitor_id_of, widget_of
from backend.orders.models import LineItem, Order
from backend.shops.models import Shop

ZERO = Decimal("0.00")
VISITOR_CHUNK = 2000


@dataclass
class Earned:
    orders: set[int] = field(default_factory=set)
    revenue: Decimal = ZERO
    view_orders: set[int] = field(default_factory=set)
    view_revenue: Decimal = ZERO
    discount_cost: Decimal = ZERO


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def line_net(line: LineItem, order_refund_share: Decimal) -> Decimal:
    """Line revenue after its discount and refunds (refunded quantities, else the order's refunded share)."""
    qty = max(line.quantity, 0)
    if qty == 0:
        return ZERO
    gross = line.price * qty - line.total_discount
    if line.refunded_quantity:
        kept = Decimal(max(qty - line.refunded_quantity, 0)) / Decimal(qty)
    else:
        kept = Decimal(1) - order_refund_share
    return max(gross * kept, ZERO)


def _refund_share(order: Order, lines: list[LineItem]) -> Decimal:
    """An order refunded by amount only (no refunded quantities): spread the refund over its lines."""
    if any(li.refunded_quantity for li in lines) or not order.total_refunded or order.total_price <= 0:
        return Decimal(0)
    return min(order.total_refunded / order.total_price, Decimal(1))


def attribute(shop: Shop | int, start: datetime, end: datetime, window_days: int) -> dict[tuple[str, str], Earned]:
    """Earnings of every widget and popup from orders processed in [start, end), keyed by (kind, key)."""
    shop_id = shop if isinstance(shop, int) else shop.pk
    window = timedelta(days=window_days)
    orders = list(
        Order.objects.for_shop(shop_id)
        .filter(processed_at__gte=start, processed_at__lt=end, cancelled_at__isnull=True)
        .prefetch_related("line_items")
    )
    earned: dict[tuple[str, str], Earned] = defaultdict(Earned)
    if not orders:
        return earned

    customers = {o.customer_id for o in orders if o.customer_id}
    stitched: dict[int, set[str]] = defaultdict(set)
    for visitor_id, customer_id in (
        VisitorIdentity.objects.for_shop(shop_id).filter(customer_id__in=customers)
        .values_list("visitor_id", "customer_id")
    ):
        stitched[customer_id].add(visitor_id)
    visitors_of: dict[int, set[str]] = {}
    for o in orders:
        own = visitor_id_of(o.note_attributes)
        visitors_of[o.pk] = ({own} if own else set()) | stitched.get(o.customer_id or 0, set())
    all_visitors = set().union(*visitors_of.values())

    # Every relevant event by visitor, once: clicks (by product), impressions and popup conversions.
    clicks: dict[tuple[str, int], list[tuple[datetime, str]]] = defaultdict(list)
    seen: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    converted: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    ordered_visitors = sorted(all_visitors)
    for i in range(0, len(ordered_visitors), VISITOR_CHUNK):  # bounded IN lists on a busy day
        events = (
            Event.objects.for_shop(shop_id)
            .filter(visitor_id__in=ordered_visitors[i:i + VISITOR_CHUNK], created_at__gte=start - window,
                    created_at__lt=end,
                    type__in=[EventType.WIDGET_CLICK, EventType.WIDGET_IMPRESSION, EventType.POPUP_CONVERTED])
            .values_list("type", "visitor_id", "product_id", "widget", "created_at")
        )
        for etype, visitor_id, product_id, widget, at in events.iterator(chunk_size=5000):
            if etype == EventType.WIDGET_CLICK and product_id:
                clicks[(visitor_id, product_id)].append((at, widget))
            elif etype == EventType.WIDGET_IMPRESSION:
                seen[visitor_id].append((at, widget))
            elif etype == EventType.POPUP_CONVERTED:
                converted[visitor_id].append((at, widget))

    def latest(table: dict, keys: list, when: datetime) -> str:
        """The widget (or popup) of the latest event under any of `keys` inside the window before `when`."""
        inside = [(at, w) for k in keys for at, w in table.get(k, []) if when - window <= at <= when and w]
        return max(inside)[1] if inside else ""

    for order in orders:
        lines = list(order.line_items.all())
        share = _refund_share(order, lines)
        visitors = visitors_of[order.pk]
        when = order.processed_at
        for line in lines:
            net = line_net(line, share)
            widget = widget_of(line.properties)
            if not widget and line.product_id:
                widget = latest(clicks, [(v, line.product_id) for v in visitors], when)
            if widget:
                slot = earned[("widget", widget)]
                slot.orders.add(order.pk)
                slot.revenue += net
                continue
            viewed = latest(seen, list(visitors), when)
            if viewed:  # one widget per line here too, never summed into click-through
                slot = earned[("widget", viewed)]
                slot.view_orders.add(order.pk)
                slot.view_revenue += net
        popup = latest(converted, list(visitors), when)
        if popup:
            slot = earned[("popup", popup)]
            slot.orders.add(order.pk)
            slot.revenue += max(order.total_price - order.total_refunded, ZERO)
            slot.discount_cost += order.total_discounts
    for slot in earned.values():
        slot.revenue, slot.view_revenue = _cents(slot.revenue), _cents(slot.view_revenue)
    return earned
