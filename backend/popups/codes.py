"""Discount code pools: unique, single-use, expiring codes created on the platform ahead of time.

Each (campaign, offer) has a small pool. The popup API only ever takes a code from the pool (a local UPDATE), so a
shopper never waits on Shopify or WooCommerce; when a pool runs low a Celery task refills it. A code reserved for a
visitor stays theirs until it is used or expires. Redemptions come back with orders (Order.discount_codes).
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.events.models import Event, EventType
from backend.shops.models import Shop
from integrations.base.platform import DiscountCodeSpec

from .models import Campaign, DiscountCode
from .offers import Offer, all_offers

logger = logging.getLogger("personalize.popups")

CODE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{3,64}")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get typed by hand
LOW_WATER = 0.5  # refill when fewer than half the pool is left
REFILL_GUARD = 300  # seconds a queued refill blocks another; a lost task stops blocking after that


@dataclass(frozen=True)
class CodeChoice:
    code: str
    expires_at: str  # ISO 8601, "" for a shared code without expiry


PREVIEW_CODE = CodeChoice("PREVIEW-CODE", "")


def new_code(prefix: str = "PZ") -> str:
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _pool(campaign: Campaign, offer: Offer):  # noqa: ANN202 - a queryset
    return DiscountCode.objects.for_shop(campaign.shop_id).filter(campaign=campaign, kind=offer.kind,
                                                                   value=offer.value)


def code_for(campaign: Campaign, offer: Offer, visitor_id: str, now: datetime | None = None) -> CodeChoice | None:
    """The code this visitor sees: theirs if already reserved, else one taken from the pool; None if the pool is dry.

    Without a visitor id (no consent to remember them) only a shared code can be given.
    """
    now = now or timezone.now()
    if campaign.code_mode == Campaign.CodeMode.SHARED:
        return CodeChoice(campaign.shared_code, campaign.ends_at.isoformat() if campaign.ends_at else "")
    if not visitor_id:
        return None
    live = _pool(campaign, offer).filter(expires_at__gt=now)
    mine = live.filter(status=DiscountCode.Status.RESERVED, visitor_id=visitor_id).first()
    if mine is not None:
        return CodeChoice(mine.code, mine.expires_at.isoformat())
    # A conditional UPDATE claims a code: two requests racing for the same row can't both win it.
    for candidate in live.filter(status=DiscountCode.Status.AVAILABLE).order_by("expires_at", "pk")[:5]:
        claimed = DiscountCode.objects.for_shop(campaign.shop_id).filter(
            pk=candidate.pk, status=DiscountCode.Status.AVAILABLE).update(
            status=DiscountCode.Status.RESERVED, visitor_id=visitor_id, reserved_at=now)
        if claimed:
            _maybe_refill(campaign, offer, now)
            return CodeChoice(candidate.code, candidate.expires_at.isoformat())
    _maybe_refill(campaign, offer, now)
    return None


def refill_key(campaign_id: int) -> str:
    """Held while a refill of the campaign is queued or running: claims during it don't queue another, whose
    platform calls would create the same missing codes again."""
    return f"popups:refill-queued:{campaign_id}"


def _maybe_refill(campaign: Campaign, offer: Offer, now: datetime) -> None:
    left = _pool(campaign, offer).filter(status=DiscountCode.Status.AVAILABLE, expires_at__gt=now).count()
    if left < max(1, int(campaign.pool_size * LOW_WATER)) and cache.add(refill_key(campaign.pk), 1, REFILL_GUARD):
        transaction.on_commit(lambda: _queue_refill(campaign.shop_id, campaign.pk))


def _queue_refill(shop_id: int, campaign_id: int) -> None:
    """Queue a refill; runs after the popup answer is decided, so a failure here must never reach the shopper."""
    from .tasks import refill_campaign

    try:
        refill_campaign.delay(shop_id, campaign_id)
    except Exception:  # eager mode runs the refill inline: the platform being down is logged, not raised
        logger.exception("queueing a code pool refill failed for shop %s campaign %s", shop_id, campaign_id)


def campaign_offers(campaign: Campaign) -> list[Offer]:
    """Every offer the campaign can hand out, including those of a running experiment on it: the pools to fill."""
    from backend.experiments.runtime import running_experiments

    offers = all_offers(campaign.offer_rules, campaign.default_offer)
    arms = [arm.get("config") or {} for exp in running_experiments(campaign.shop_id)
            if exp["target_kind"] == "popup" and exp["target_key"] == str(campaign.pk) for arm in exp["arms"]]
    extra = all_offers([a["offer"] for a in arms if isinstance(a.get("offer"), dict)], {})
    known = {o.pool for o in offers}
    return offers + [o for o in extra if o.pool not in known]


def creator_for(shop: Shop):  # noqa: ANN201 - a callable (shop, specs) -> list[CreatedDiscountCode]
    """The platform connector's `create_discount_codes`, chosen by the shop's platform."""
    if shop.platform == Shop.Platform.SHOPIFY:
        from integrations.shopify.discounts import create_discount_codes
    else:
        from integrations.woocommerce.coupons import create_discount_codes
    return create_discount_codes


def refill(campaign: Campaign, now: datetime | None = None, creator=None) -> int:  # noqa: ANN001
    """Top every pool of the campaign up to pool_size with codes created on the platform; returns how many."""
    now = now or timezone.now()
    if campaign.code_mode != Campaign.CodeMode.UNIQUE or campaign.status != Campaign.Status.ACTIVE:
        return 0
    shop = Shop.objects.get(pk=campaign.shop_id)
    create = creator or creator_for(shop)
    made = 0
    # Codes must outlive their reservation window: a pool code expires ttl after it could last be handed out.
    expires = now + timedelta(hours=campaign.code_ttl_hours)
    if campaign.ends_at:
        expires = min(expires, campaign.ends_at + timedelta(hours=campaign.code_ttl_hours))
    for offer in campaign_offers(campaign):
        left = _pool(campaign, offer).filter(status=DiscountCode.Status.AVAILABLE, expires_at__gt=now).count()
        wanted = campaign.pool_size - left
        if wanted <= 0:
            continue
        specs = [DiscountCodeSpec(code=new_code(), kind=offer.kind, value=offer.value, starts_at=now,
                                  ends_at=expires, title=f"{campaign.name} ({offer.kind} {offer.value})"[:255])
                 for _ in range(wanted)]
        created = create(shop, specs)
        for item in created:
            try:
                DiscountCode.objects.create(shop_id=campaign.shop_id, campaign=campaign, kind=offer.kind,
                                            value=offer.value, code=item.code, platform_id=item.platform_id,
                                            created_at=now, expires_at=expires)
                made += 1
            except IntegrityError:  # a code the shop already has: skip it, the next refill makes another
                logger.warning("discount code collision in shop %s", shop.domain)
    return made


def mark_redeemed(shop_id: int, orders: list) -> int:  # noqa: ANN001 - Order rows
    """Match orders' discount codes to our codes: mark them used, tied to the order; returns how many.

    One query for the whole batch: our codes are upper case (new_code), so the orders' codes are compared upper
    cased, on the (shop, code) index.
    """
    now = timezone.now()
    order_of: dict[str, object] = {}
    for order in orders:
        for code in order.discount_codes or []:
            if isinstance(code, str) and code:
                order_of.setdefault(code.upper(), order)
    if not order_of:
        return 0
    matched = 0
    rows = (DiscountCode.objects.for_shop(shop_id).filter(code__in=list(order_of))
            .exclude(status=DiscountCode.Status.USED).select_related("campaign"))
    for row in rows:
        order = order_of[row.code.upper()]
        claimed = DiscountCode.objects.for_shop(shop_id).filter(pk=row.pk).exclude(
            status=DiscountCode.Status.USED).update(status=DiscountCode.Status.USED,
                                                    used_at=order.processed_at or now, order=order)
        if not claimed:
            continue  # a webhook and a sync raced: the first one counted it
        matched += 1
        # The conversion of record: an order paid with the popup's code (variant "order" tells it from clicks).
        Event.objects.create(shop_id=shop_id, type=EventType.POPUP_CONVERTED, visitor_id=row.visitor_id,
                             customer_id=order.customer_id, widget=row.campaign.widget, variant="order",
                             created_at=order.processed_at or now)
    return matched
