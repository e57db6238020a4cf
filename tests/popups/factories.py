"""Campaigns, code pools and shoppers (new / returning / VIP) for the popup tests."""
from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from backend.customers.identities import resolve_visitor
from backend.popups.campaigns import save_campaign
from backend.popups.codes import campaign_offers
from backend.popups.models import Campaign, DiscountCode

COPY = {
    "en": {"headline": "Wait! A gift before you go", "body": "Take {offer} on this order.", "cta": "Get my code",
           "consent": "Email me offers. I can unsubscribe at any time."},
    "es": {"headline": "¡Espera! Un regalo antes de irte", "body": "Llévate {offer} en este pedido.",
           "cta": "Quiero mi código",
           "consent": "Quiero recibir ofertas por email. Puedo darme de baja cuando quiera."},
}
RULES = [
    {"when": "tier:vip", "kind": "percent", "value": 20},
    {"when": "visitors:returning", "kind": "percent", "value": 10},
    {"when": "visitors:new", "kind": "free_shipping"},
]


def campaign_data(**overrides) -> dict:
    data = {"name": "Exit offer", "status": "active", "offer_rules": RULES, "default_offer": {}, "copy": COPY,
            "min_seconds": 2, "cap": "session"}
    data.update(overrides)
    return data


def make_campaign(shop, **overrides) -> Campaign:
    return save_campaign(shop.pk, campaign_data(**overrides))


def fill_pool(campaign: Campaign, per_offer: int = 3, prefix: str = "T") -> list[DiscountCode]:
    """Codes as a refill would leave them (without the platform round trip; test_codes covers that)."""
    rows = []
    expires = timezone.now() + timedelta(hours=campaign.code_ttl_hours)
    for offer in campaign_offers(campaign):
        for n in range(per_offer):
            rows.append(DiscountCode.objects.create(
                shop_id=campaign.shop_id, campaign=campaign, kind=offer.kind, value=offer.value,
                code=f"{prefix}{campaign.pk}-{offer.kind[:4].upper()}{int(offer.value)}-{n}", expires_at=expires))
    return rows


def claim_code(shop, visitor_id: str, campaign: Campaign | None = None, ip: str = "192.0.2.1") -> str:
    """What the storefront's claim gets for this visitor (the offer decided again, then the code claimed)."""
    from backend.popups.campaigns import Shopper, choice_for_claim
    from backend.popups.codes import claim

    campaign = campaign or Campaign.objects.for_shop(shop).get()
    now = timezone.now()
    choice = choice_for_claim(shop.pk, campaign.pk, Shopper(visitor_id=visitor_id), now)
    assert choice is not None, "no popup of that campaign for this visitor"
    return claim(campaign, choice.offer, visitor_id, ip, now).code


def returning_visitor(shop, visitor_id: str, tier: str = ""):
    """A visitor we have seen before (two sessions); with `tier`, a customer of that value tier."""
    profile = resolve_visitor(shop.pk, visitor_id)
    profile.sessions_count = 2
    if tier:
        profile.orders_count = 3
        profile.value_tier = tier
    profile.save()
    cache.clear()  # segment keys are cached per visitor
    return profile
