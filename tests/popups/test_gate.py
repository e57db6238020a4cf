"""The popup gate a page reads before it loads anything popup-related: what it says, and that a Shopify theme's
copy (an app metafield) follows every campaign save."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.popups.gate import page_gate
from tests.integrations.shopify.sync_support import shopify_standin, standin, standin_shop  # noqa: F401
from tests.integrations.shopify.webhook_support import eager_celery  # noqa: F401

from .factories import make_campaign

pytestmark = pytest.mark.django_db


def test_gate_names_what_a_page_can_check_and_drops_ended_campaigns(shop):
    now = timezone.now()
    starts = now + timedelta(hours=2)
    soon = make_campaign(shop, starts_at=starts.isoformat(), require_cart=True, mobile_enabled=False, cap="days",
                         cap_days=3, include_segments=["visitors:new"], priority=5)
    vip = make_campaign(shop, include_segments=["tier:vip", "visitors:returning"], exclude_segments=["visitors:new"])
    make_campaign(shop, starts_at=(now - timedelta(days=3)).isoformat(), ends_at=(now - timedelta(days=1)).isoformat())
    make_campaign(shop, status="paused")
    gate = page_gate(shop.pk, now)
    assert gate == [
        {"id": soon.pk, "from": int(starts.timestamp()), "cart": 1, "desktop": 1, "cap": 3, "only": ["visitors:new"]},
        # tier:vip is the app's to tell: the page must not narrow the campaign to returning visitors.
        {"id": vip.pk, "cap": 0, "not": ["visitors:new"]},
    ]
    assert "offer" not in json.dumps(gate) and "code" not in json.dumps(gate)


def test_saving_a_campaign_republishes_the_shopify_gate(standin, standin_shop, eager_celery,  # noqa: F811
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make_campaign(standin_shop, require_cart=True)
    published = standin.shop(standin_shop.domain).app_metafields[("personalize", "popup_gate")]
    assert published["type"] == "json"
    assert json.loads(published["value"]) == [{"id": campaign.pk, "cart": 1, "cap": 0}]
