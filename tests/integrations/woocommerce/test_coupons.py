"""Popup code pools on a WooCommerce store: single-use, expiring coupons created over real HTTP on the stand-in."""
from __future__ import annotations

from datetime import UTC

import pytest
from django.core.cache import cache

from backend.popups import codes
from backend.popups.models import DiscountCode
from tests.popups.factories import make_campaign

pytestmark = pytest.mark.django_db


def test_refill_creates_single_use_expiring_coupons_on_the_store(standin, woo_shop):
    cache.clear()
    campaign = make_campaign(woo_shop, pool_size=2, code_ttl_hours=24)
    assert codes.refill(campaign) == 6  # three offers (free shipping, 10 %, 20 %) × 2

    on_store = {c["code"]: c for c in standin.coupons.values()}
    ours = list(DiscountCode.objects.for_shop(woo_shop).filter(campaign=campaign))
    assert {c.code.lower() for c in ours} == set(on_store)
    for row in ours:
        coupon = on_store[row.code.lower()]
        # WooCommerce keeps only `date_expires`; the expiry it stored is the one the pool recorded.
        assert coupon["usage_limit"] == 1 and coupon["date_expires_gmt"] is not None
        assert coupon["date_expires_gmt"] == row.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert str(coupon["id"]) == row.platform_id
        if row.kind == "percent":
            assert coupon["discount_type"] == "percent" and float(coupon["amount"]) == float(row.value)
        else:
            assert coupon["free_shipping"] is True and float(coupon["amount"]) == 0
    assert codes.refill(campaign) == 0  # full pools stay as they are


def test_a_code_the_store_already_has_is_skipped(standin, woo_shop):
    from decimal import Decimal

    from integrations.base.platform import DiscountCodeSpec
    from integrations.woocommerce.coupons import create_discount_codes

    cache.clear()
    campaign = make_campaign(woo_shop, pool_size=1, code_ttl_hours=24)
    codes.refill(campaign)
    taken = DiscountCode.objects.for_shop(woo_shop).filter(campaign=campaign).first()
    spec = DiscountCodeSpec(code=taken.code.upper(), kind="percent", value=Decimal(10),
                            starts_at=taken.created_at, ends_at=taken.expires_at, title="duplicate")
    before = len(standin.coupons)
    assert create_discount_codes(woo_shop, [spec]) == []  # WooCommerce refuses a code it has (any case)
    assert len(standin.coupons) == before


def test_the_standin_reads_coupon_dates_as_woocommerce_does(standin, woo_shop):
    """date_expires_gmt is ignored; a date_expires without an offset is the site's local time (Europe/Madrid)."""
    from integrations.woocommerce.client import WooClient

    client = WooClient.for_shop(woo_shop)
    gmt_only = client.request("POST", "coupons", data={"code": "gmt-only", "date_expires_gmt": "2026-12-20T10:00:00"})
    assert gmt_only.json()["date_expires"] is None and gmt_only.json()["date_expires_gmt"] is None
    local = client.request("POST", "coupons", data={"code": "local", "date_expires": "2026-12-20T10:00:00"}).json()
    assert (local["date_expires"], local["date_expires_gmt"]) == ("2026-12-20T10:00:00", "2026-12-20T09:00:00")
    exact = client.request("POST", "coupons", data={"code": "exact", "date_expires": "2026-12-20T10:00:00Z"}).json()
    assert (exact["date_expires"], exact["date_expires_gmt"]) == ("2026-12-20T11:00:00", "2026-12-20T10:00:00")


def test_a_coupon_stored_without_our_expiry_is_deleted_not_handed_out(standin, woo_shop, monkeypatch):
    """Read back: if the store kept another expiry (here: the ignored date_expires_gmt), the coupon is removed."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from integrations.base.platform import DiscountCodeSpec
    from integrations.woocommerce import coupons

    real = coupons.coupon_body

    def gmt_only(spec):
        body = real(spec)
        body["date_expires_gmt"] = body.pop("date_expires").rstrip("Z")
        return body

    monkeypatch.setattr(coupons, "coupon_body", gmt_only)
    now = timezone.now()
    spec = DiscountCodeSpec(code="NEVEREXPIRES", kind="percent", value=Decimal(10), starts_at=now,
                            ends_at=now + timedelta(hours=2))
    assert coupons.create_discount_codes(woo_shop, [spec]) == []
    assert standin.coupons == {}
