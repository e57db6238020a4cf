"""Orders credited to recipe emails: an order placed within the shop's attribution window after a click in one of
the shopper's recipe emails counts for that email's recipe and step (the latest such click wins, once per order).
The same rule the widgets use (dashboard/attribution.py: a click, then an order within the window)."""
from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from backend.customers.identities import normalise_email, profile_for
from backend.orders.models import Order

from .models import EmailClick, EmailConversion


def attribute_orders(shop_id: int, order_ids: list[int]) -> int:
    from backend.recipes.engine import settings_for

    window = timedelta(days=settings_for(shop_id).attribution_days)
    made = 0
    orders = Order.objects.for_shop(shop_id).filter(pk__in=order_ids, cancelled_at__isnull=True,
                                                    processed_at__isnull=False)
    for order in orders:
        profile = profile_for(shop_id, order.customer_id) if order.customer_id else None
        who = Q(send__profile=profile) if profile is not None else Q(pk__in=[])
        email = normalise_email(order.email)
        if email:
            who |= Q(send__to_email=email)
        click = (EmailClick.objects.for_shop(shop_id).filter(who, send__is_test=False,
                                                             clicked_at__gte=order.processed_at - window,
                                                             clicked_at__lte=order.processed_at)
                 .select_related("send").order_by("-clicked_at", "-pk").first())
        if click is None:
            continue
        try:
            with transaction.atomic():
                EmailConversion.objects.create(
                    shop_id=shop_id, order=order, send=click.send, recipe_id=click.send.recipe_id,
                    step=click.send.step, ordered_at=order.processed_at,
                    revenue=max(order.total_price - order.total_refunded, 0))
            made += 1
        except IntegrityError:  # already credited (post_save and the upsert's signal both fire)
            continue
    return made
