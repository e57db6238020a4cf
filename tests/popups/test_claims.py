"""POST /api/storefront/popup/claim: one code per visitor per campaign, budgets per address and per campaign a day,
consent first when the campaign asks for an email, crawlers refused, hostile bodies a 400."""
from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from backend.popups.models import Budget, Claim, Consent, DiscountCode

from .factories import COPY, fill_pool, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    yield
    cache.clear()


def claim(client, shop, campaign, visitor, ip="198.51.100.7", **extra):
    body = {"key": shop.public_key, "campaign": campaign.pk, "visitor": visitor, "locale": "en", **extra}
    return client.post("/api/storefront/popup/claim", json.dumps(body), content_type="text/plain",
                       REMOTE_ADDR=ip)


def assigned(shop) -> int:
    return DiscountCode.objects.for_shop(shop).exclude(visitor_id="").count()


def test_a_second_claim_by_the_same_visitor_gets_the_same_code_and_spends_nothing(client, shop):
    campaign = make_campaign(shop, codes_per_ip_per_day=2)
    fill_pool(campaign, per_offer=5)
    first = claim(client, shop, campaign, "visitor-one")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["offer"]["kind"] == "free_shipping" and body["offer"]["code"] and body["offer"]["expires_at"]
    assert body["copy"]["headline"] == COPY["en"]["headline"]
    again = claim(client, shop, campaign, "visitor-one")
    assert again.json()["offer"]["code"] == body["offer"]["code"]
    assert Claim.objects.for_shop(shop).count() == 1 and assigned(shop) == 1
    # The address spent one of its two: one more visitor from it gets a code, the next does not.
    assert claim(client, shop, campaign, "visitor-two").status_code == 200
    refused = claim(client, shop, campaign, "visitor-three")
    assert refused.status_code == 429 and "address" in refused.json()["error"]
    assert 0 < int(refused["Retry-After"]) <= 86400
    assert assigned(shop) == 2
    # Another address still can.
    assert claim(client, shop, campaign, "visitor-three", ip="203.0.113.9").status_code == 200


def test_the_campaigns_daily_budget_holds_across_addresses(client, shop):
    campaign = make_campaign(shop, codes_per_day=3, codes_per_ip_per_day=100)
    fill_pool(campaign, per_offer=10)
    statuses = [claim(client, shop, campaign, f"visitor-{n}", ip=f"203.0.113.{n}").status_code for n in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert assigned(shop) == 3
    spent = dict(Budget.objects.for_shop(shop).filter(campaign=campaign).values_list("scope", "used"))
    assert spent["claims"] == 3, "refused claims spend nothing"


def test_an_email_campaign_gives_its_code_only_after_consent(client, shop):
    campaign = make_campaign(shop, email_capture=True)
    fill_pool(campaign, per_offer=5)
    shown = client.get("/api/storefront/popup", {"key": shop.public_key, "visitor": "visitor-mail"}).json()
    assert shown["email_capture"] is True and "code" not in shown["offer"]
    refused = claim(client, shop, campaign, "visitor-mail")
    assert refused.status_code == 403 and "consent" in refused.json()["error"]
    given = client.post("/api/storefront/popup/consent", json.dumps({
        "key": shop.public_key, "campaign": campaign.pk, "email": "ana@example.com", "consent": True,
        "text": COPY["en"]["consent"], "locale": "en", "visitor": "visitor-mail"}), content_type="text/plain")
    consent_id = given.json()["consent"]
    # Someone else's consent id doesn't open this visitor's code.
    assert claim(client, shop, campaign, "visitor-other", consent=consent_id).status_code == 403
    assert assigned(shop) == 0
    ok = claim(client, shop, campaign, "visitor-mail", consent=consent_id)
    assert ok.status_code == 200 and ok.json()["offer"]["code"]
    assert Consent.objects.for_shop(shop).get().visitor_id == "visitor-mail"


def test_a_crawler_gets_no_code(client, shop):
    campaign = make_campaign(shop)
    fill_pool(campaign)
    response = client.post("/api/storefront/popup/claim", json.dumps({
        "key": shop.public_key, "campaign": campaign.pk, "visitor": "bot-visitor"}), content_type="text/plain",
        HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert response.status_code == 403 and assigned(shop) == 0


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"\xff\xfe", 400, "UTF-8"),
    (b"[" * 4000, 400, "nests deeper"),
    (b"x" * 5000, 413, "larger than"),
    (b'"just a string"', 400, "object"),
    (b'{"campaign": "1", "visitor": "v-1"}', 400, "unknown key"),
])
def test_hostile_bodies_are_a_4xx_with_a_reason(client, shop, body, status, reason):
    response = client.post("/api/storefront/popup/claim", body, content_type="text/plain")
    assert response.status_code in (status, 404) and reason in response.json()["error"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"campaign": "1"}, "campaign"), ({"campaign": True}, "campaign"), ({"visitor": "<b>"}, "visitor"),
    ({"locale": "fr"}, "locale"), ({"consent": "yes"}, "consent"), ({"visitor": ["x"]}, "visitor"),
])
def test_bad_fields_are_a_400_naming_the_field(client, shop, change, reason):
    campaign = make_campaign(shop)
    body = {"key": shop.public_key, "campaign": campaign.pk, "visitor": "v-1", "locale": "en", **change}
    response = client.post("/api/storefront/popup/claim", json.dumps(body), content_type="text/plain")
    assert response.status_code == 400 and reason in response.json()["error"]


def test_another_shops_campaign_cannot_be_claimed(client, shop, other_shop):
    theirs = make_campaign(other_shop)
    fill_pool(theirs)
    assert claim(client, shop, theirs, "visitor-x").status_code == 404
    assert assigned(other_shop) == 0


def test_a_campaign_that_needs_a_cart_hands_out_its_code_when_shown(client, shop):
    """The popup was shown because the page had a cart; the claim does not say so again (it 404'd before)."""
    campaign = make_campaign(shop, require_cart=True)
    fill_pool(campaign, per_offer=3)
    response = claim(client, shop, campaign, "visitor-cart")
    assert response.status_code == 200, response.content
    assert response.json()["offer"]["code"]


def test_a_visitors_code_is_never_shown_under_another_offer_nor_once_used(shop):
    """One code per visitor per campaign: a visitor who claimed free shipping and is now offered 20 % (they became
    VIP) is not promised 20 % with the free-shipping code, and a used code doesn't make the campaign claimable."""
    from decimal import Decimal

    from django.utils import timezone

    from backend.popups import codes
    from backend.popups.offers import Offer

    campaign = make_campaign(shop)
    fill_pool(campaign, per_offer=3)
    now = timezone.now()
    shipping, vip = Offer("free_shipping", Decimal("0")), Offer("percent", Decimal("20"))
    first = codes.claim(campaign, shipping, "visitor-vip", "198.51.100.7", now)
    assert codes.claimable(campaign, shipping, "visitor-vip", "198.51.100.7", now)
    assert not codes.claimable(campaign, vip, "visitor-vip", "198.51.100.7", now)
    with pytest.raises(codes.ClaimRefused) as refused:
        codes.claim(campaign, vip, "visitor-vip", "198.51.100.7", now)
    assert refused.value.status == 410 and "another offer" in refused.value.reason
    DiscountCode.objects.for_shop(shop).filter(code=first.code).update(status=DiscountCode.Status.USED)
    assert not codes.claimable(campaign, shipping, "visitor-vip", "198.51.100.7", now)
