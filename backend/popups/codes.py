"""Discount code pools: unique, single-use, expiring codes created on the platform ahead of time, and claimed one
at a time when a popup is shown.

Each (campaign, offer) has a small pool. A claim only ever takes a code from the pool (a local UPDATE), so a shopper
never waits on Shopify or WooCommerce; when a pool runs low a Celery task refills it. Claims are budgeted: one per
visitor per campaign (a second claim gets the same code), `codes_per_ip_per_day` per address and `codes_per_day` per
campaign; the same daily cap bounds how many codes a refill may create on the platform. Budgets are rows spent with
conditional UPDATEs, so they hold across any number of web and worker processes. Redemptions come back with orders
(Order.discount_codes).
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from backend.events.models import Event, EventType
from backend.shops.models import Shop
from integrations.base.platform import DiscountCodeSpec

from .models import Budget, Campaign, Claim, DiscountCode
from .offers import Offer, all_offers

logger = logging.getLogger("personalize.popups")

CODE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{3,64}")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get typed by hand
LOW_WATER = 0.5  # refill when fewer than half the pool is left
REFILL_GUARD = 300  # seconds a queued refill blocks another; a lost task stops blocking after that
CLAIMS = "claims"  # Budget scopes: codes claimed today, codes created on the platform today, claims per address
CREATED = "created"


@dataclass(frozen=True)
class CodeChoice:
    code: str
    expires_at: str  # ISO 8601, "" for a shared code without expiry


class ClaimRefused(Exception):
    """A claim that gets no code: the HTTP status, the reason, and when trying again may help (seconds, 0: never)."""

    def __init__(self, status: int, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


def new_code(prefix: str = "PZ") -> str:
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _pool(campaign: Campaign, offer: Offer):  # noqa: ANN202 - a queryset
    return DiscountCode.objects.for_shop(campaign.shop_id).filter(campaign=campaign, kind=offer.kind,
                                                                   value=offer.value)


def budget_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _until_tomorrow(now: datetime) -> int:
    utc = now.astimezone(UTC)
    tomorrow = datetime.combine(utc.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, int((tomorrow - utc).total_seconds()))


def ip_scope(ip: str) -> str:
    """The per-address budget's scope: a hash, since the budget only has to tell addresses apart."""
    return "ip:" + hashlib.blake2b(ip.encode(), digest_size=8).hexdigest()


def _budgets(campaign: Campaign, day: date, scope: str):  # noqa: ANN202 - a queryset
    return Budget.objects.for_shop(campaign.shop_id).filter(campaign=campaign, day=day, scope=scope)


def _spend(campaign: Campaign, day: date, scope: str, limit: int) -> bool:
    """Spend one of today's `limit` for the scope; False when it is all spent. One statement either way, so two
    processes can't both take the last one (PostgreSQL re-checks `used < limit` after the row lock)."""
    rows = _budgets(campaign, day, scope)
    if limit < 1:
        return False
    if rows.filter(used__lt=limit).update(used=F("used") + 1):
        return True
    try:
        with transaction.atomic():
            Budget.objects.create(shop_id=campaign.shop_id, campaign=campaign, day=day, scope=scope, used=1)
        return True
    except IntegrityError:  # another process made today's row first: spend from it
        return bool(rows.filter(used__lt=limit).update(used=F("used") + 1))


def _spend_up_to(campaign: Campaign, day: date, scope: str, limit: int, wanted: int) -> int:
    """Spend as many of `wanted` as today's budget has left, compare-and-swap; returns how many were granted."""
    rows = _budgets(campaign, day, scope)
    for _ in range(20):
        row = rows.first()
        if row is None:
            granted = min(wanted, limit)
            if granted <= 0:
                return 0
            try:
                with transaction.atomic():
                    Budget.objects.create(shop_id=campaign.shop_id, campaign=campaign, day=day, scope=scope,
                                          used=granted)
                return granted
            except IntegrityError:
                continue
        granted = min(wanted, limit - row.used)
        if granted <= 0:
            return 0
        if rows.filter(used=row.used).update(used=row.used + granted):
            return granted
    return 0


def _claim_of(campaign: Campaign, visitor_id: str) -> Claim | None:
    return (Claim.objects.for_shop(campaign.shop_id).filter(campaign=campaign, visitor_id=visitor_id)
            .select_related("code").first())


def _unusable(claim: Claim, offer: Offer, now: datetime) -> str:
    """Why a visitor's earlier claim can't be handed out for `offer` now ("" when it can). One code per visitor
    per campaign: an expired or used one is not replaced, and a code for another offer (the visitor moved from
    "new" to "VIP") must never be shown under this one's words."""
    code = claim.code
    if code.expires_at <= now:
        return "this visitor's code for the campaign has expired"
    if code.status == DiscountCode.Status.USED:
        return "this visitor has used their code for the campaign"
    if (code.kind, code.value) != offer.pool:
        return "this visitor's code for the campaign is for another offer"
    return ""


def _mine(claim: Claim, offer: Offer, now: datetime) -> CodeChoice:
    why = _unusable(claim, offer, now)
    if why:
        raise ClaimRefused(410, why)
    return CodeChoice(claim.code.code, claim.code.expires_at.isoformat())


def claimable(campaign: Campaign, offer: Offer, visitor_id: str, ip: str, now: datetime) -> bool:
    """Whether a claim could get a code now (cheap; the claim itself decides): lets the storefront pass over a
    campaign it could not keep its word on."""
    if campaign.code_mode == Campaign.CodeMode.SHARED:
        return True
    if not visitor_id:  # no consent to remember them: only a shared code can be given
        return False
    mine = _claim_of(campaign, visitor_id)
    if mine is not None:  # theirs, if it can still be kept; never a second one
        return not _unusable(mine, offer, now)
    day = budget_day(now)
    spent = dict(Budget.objects.for_shop(campaign.shop_id).filter(
        campaign=campaign, day=day, scope__in=[CLAIMS, ip_scope(ip)]).values_list("scope", "used"))
    if spent.get(CLAIMS, 0) >= campaign.codes_per_day or spent.get(ip_scope(ip), 0) >= campaign.codes_per_ip_per_day:
        return False
    if _pool(campaign, offer).filter(status=DiscountCode.Status.AVAILABLE, expires_at__gt=now).exists():
        return True
    _maybe_refill(campaign, offer, now)
    return False


def claim(campaign: Campaign, offer: Offer, visitor_id: str, ip: str, now: datetime | None = None) -> CodeChoice:
    """The code this visitor gets now the popup is shown: theirs if they claimed before, else one from the pool,
    within the budgets; ClaimRefused otherwise. Nothing is spent by a refused claim."""
    now = now or timezone.now()
    if campaign.code_mode == Campaign.CodeMode.SHARED:
        return CodeChoice(campaign.shared_code, campaign.ends_at.isoformat() if campaign.ends_at else "")
    if not visitor_id:
        raise ClaimRefused(400, "a unique code needs the visitor id")
    mine = _claim_of(campaign, visitor_id)
    if mine is not None:
        return _mine(mine, offer, now)
    day, wait = budget_day(now), _until_tomorrow(now)
    try:
        with transaction.atomic():  # a refusal below rolls back what was spent before it
            if not _spend(campaign, day, ip_scope(ip), campaign.codes_per_ip_per_day):
                raise ClaimRefused(429, "this address has claimed its codes for today", wait)
            if not _spend(campaign, day, CLAIMS, campaign.codes_per_day):
                raise ClaimRefused(429, "this campaign has handed out its codes for today", wait)
            code = _take(campaign, offer, visitor_id, now)
            if code is None:
                raise ClaimRefused(503, "no code is ready right now", 60)
            Claim.objects.create(shop_id=campaign.shop_id, campaign=campaign, visitor_id=visitor_id, code=code,
                                 ip_hash=ip_scope(ip)[3:], claimed_at=now)
    except IntegrityError:  # the same visitor claimed in a parallel request: theirs is the code that won
        mine = _claim_of(campaign, visitor_id)
        if mine is None:
            raise
        return _mine(mine, offer, now)
    except ClaimRefused as refused:
        if refused.status == 503:
            _maybe_refill(campaign, offer, now)
        raise
    _maybe_refill(campaign, offer, now)
    return CodeChoice(code.code, code.expires_at.isoformat())


def _take(campaign: Campaign, offer: Offer, visitor_id: str, now: datetime) -> DiscountCode | None:
    # A conditional UPDATE takes a code: two requests racing for the same row can't both win it.
    live = _pool(campaign, offer).filter(expires_at__gt=now)
    for candidate in live.filter(status=DiscountCode.Status.AVAILABLE).order_by("expires_at", "pk")[:5]:
        taken = DiscountCode.objects.for_shop(campaign.shop_id).filter(
            pk=candidate.pk, status=DiscountCode.Status.AVAILABLE).update(
            status=DiscountCode.Status.RESERVED, visitor_id=visitor_id, reserved_at=now)
        if taken:
            return candidate
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
    """Top every pool of the campaign up to pool_size with codes created on the platform, never creating more in a
    day than the campaign's `codes_per_day`; returns how many were added."""
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
    day = budget_day(now)
    for offer in campaign_offers(campaign):
        left = _pool(campaign, offer).filter(status=DiscountCode.Status.AVAILABLE, expires_at__gt=now).count()
        wanted = campaign.pool_size - left
        if wanted <= 0:
            continue
        # The day's cap is spent before the platform is asked: parallel refills can't create past it together.
        granted = _spend_up_to(campaign, day, CREATED, campaign.codes_per_day, wanted)
        if granted <= 0:
            logger.info("code creation cap reached for shop %s campaign %s", shop.domain, campaign.pk)
            break
        specs = [DiscountCodeSpec(code=new_code(), kind=offer.kind, value=offer.value, starts_at=now,
                                  ends_at=expires, title=f"{campaign.name} ({offer.kind} {offer.value})"[:255])
                 for _ in range(granted)]
        # Every code asked for counts against the cap, made or not: a timed-out call may still have made it.
        for item in create(shop, specs):
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
