"""GDPR: a customer's redaction removes the contact identities profiles keep; the export includes the profile."""
from __future__ import annotations

import pytest

from backend.customers.identities import resolve_customer
from backend.customers.models import CustomerProfile, Identity
from backend.segments.presets import ensure_presets
from backend.segments.tasks import update_profile
from backend.shops.redaction import CustomerRef, export_customer, redact_customer
from tests.customers.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_redaction_forgets_emails_and_phones_in_profiles(shop):
    ensure_presets(shop)
    c = make_customer(shop, platform_id="42", email="gone@example.com", phone="+34612345678")
    make_order(shop, c, "10.00", days_ago=1)
    update_profile(resolve_customer(c))
    export = export_customer(shop, CustomerRef(platform_id="42", email="gone@example.com"))
    unified = export.data["unified_profiles"]
    assert unified[0]["orders_count"] == 1 and "First-time buyers" in unified[0]["segments"]

    redact_customer(shop, CustomerRef(platform_id="42", email="gone@example.com", phone="+34612345678"))
    kinds = set(Identity.objects.for_shop(shop).values_list("kind", flat=True))
    assert kinds == {"customer"}
    profile = CustomerProfile.objects.for_shop(shop).get()
    assert profile.email == "" and profile.orders_count == 1  # the history stays counted, anonymously
    c.refresh_from_db()
    update_profile(resolve_customer(c))
    assert set(Identity.objects.for_shop(shop).values_list("kind", flat=True)) == {"customer"}


def test_shop_redaction_removes_every_profile_row(shop, other_shop):
    from backend.customers.identities import resolve_visitor
    from backend.customers.models import MergeLog
    from backend.segments.models import SegmentMembership
    from backend.shops.redaction import redact_shop

    ensure_presets(shop)
    c = make_customer(shop, email="a@example.com")
    make_order(shop, c, "10.00", days_ago=1)
    update_profile(resolve_customer(c))
    resolve_visitor(shop.pk, "v-1")
    update_profile(resolve_visitor(shop.pk, "v-1", c.pk))
    keep = make_customer(other_shop, email="a@example.com")
    update_profile(resolve_customer(keep))
    assert MergeLog.objects.for_shop(shop).count() == 1
    redact_shop(shop.pk)
    assert not CustomerProfile.all_shops.filter(shop_id=shop.pk).exists()
    assert not Identity.all_shops.filter(shop_id=shop.pk).exists()
    assert not SegmentMembership.all_shops.filter(shop_id=shop.pk).exists()
    assert CustomerProfile.objects.for_shop(other_shop).count() == 1
