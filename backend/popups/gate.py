"""What a page needs to know, before asking us anything, about whether a popup campaign could apply to its visitor.

The storefront script loads the popup chunk and calls `GET /popup` only when one campaign in this gate could still
apply: the schedule says it runs now, a cart-only campaign sees a cart, a desktop-only one is not on a phone, the
visitor has not already had it (its cap, remembered in the browser) and the segments the page can tell on its own
(a first visit or a returning one) do not rule it out. Everything else (segments the app computes, conversions,
experiments, code budgets) stays the server's decision at `/popup`.

The gate is public: it names campaign ids and the targeting the page checks, never an offer or a code. It is built
from the short-cached active campaigns, so pages (demo store, the WooCommerce plugin's config, Shopify's app
metafield) render it without a query of their own.
"""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .campaigns import active_campaigns
from .models import Campaign

# Segment keys the page can evaluate on its own: whether the browser held a visitor id before this page.
PAGE_KEYS = frozenset({"visitors:new", "visitors:returning"})


def _epoch(when: datetime | None) -> int:
    return int(when.timestamp()) if when is not None else 0


def page_gate(shop_id: int, now: datetime | None = None) -> list[dict]:
    """One small entry per active campaign that has not ended, in the order `/popup` tries them.

    `from`/`until` are epoch seconds (0: open), so a page rendered (or cached) before a campaign starts still wakes
    up for it on time, and one rendered after it ended stays quiet.
    """
    now = now or timezone.now()
    gate = []
    for campaign in active_campaigns(shop_id):
        if campaign.ends_at is not None and campaign.ends_at <= now:
            continue
        entry: dict = {"id": campaign.pk}
        if campaign.starts_at is not None and campaign.starts_at > now:
            entry["from"] = _epoch(campaign.starts_at)
        if campaign.ends_at is not None:
            entry["until"] = _epoch(campaign.ends_at)
        if campaign.require_cart:
            entry["cart"] = 1
        if not campaign.mobile_enabled:
            entry["desktop"] = 1
        # A campaign capped by days stays quiet until then; one capped per session, for the session.
        entry["cap"] = campaign.cap_days if campaign.cap == Campaign.Cap.DAYS else 0
        include = [k for k in campaign.include_segments if k in PAGE_KEYS]
        if include and len(include) == len(campaign.include_segments):
            entry["only"] = include  # every included segment is one the page can check itself
        exclude = [k for k in campaign.exclude_segments if k in PAGE_KEYS]
        if exclude:
            entry["not"] = exclude
        gate.append(entry)
    return gate
