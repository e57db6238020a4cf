"""One profile per person: identities merge across channels, merges are logged and can be undone."""
from __future__ import annotations

import pytest

from backend.customers.identities import (
    normalise_email,
    normalise_phone,
    profile_for,
    resolve_customer,
    resolve_visitor,
    unmerge,
)
from backend.customers.models import CustomerProfile, Identity, MergeLog
from backend.customers.profiles import refresh_profile

from .factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_phone_normalised_to_e164_with_the_customers_country():
    assert normalise_phone("612 34 56 78", "ES") == "+34612345678"
    assert normalise_phone("(415) 555-2671", "US") == "+14155552671"
    assert normalise_phone("+34 612 345 678", "") == "+34612345678"
    assert normalise_phone("612 34 56 78", "") == ""  # national number without a country: unknown
    assert normalise_phone("not a phone", "ES") == ""
    assert normalise_email("  Ana@Example.COM ") == "ana@example.com"
    assert normalise_email("nope") == ""


def test_pos_and_online_customers_with_the_same_email_become_one_profile(shop):
    online = make_customer(shop, email="ana@example.com", country="ES")
    pos = make_customer(shop, email="ANA@example.com ", phone="612345678", country="ES")
    make_order(shop, online, "30.00", days_ago=10)
    make_order(shop, pos, "20.00", days_ago=2, channel="pos")
    p1 = resolve_customer(online, "online")
    p2 = resolve_customer(pos, "pos")
    assert p1.pk == p2.pk
    refresh_profile(p2)
    assert p2.orders_count == 2
    assert p2.total_spent == 50
    assert p2.channels == "|online|pos|"
    kinds = set(Identity.objects.for_shop(shop).filter(profile=p2).values_list("kind", "value"))
    assert ("phone", "+34612345678") in kinds
    assert ("email", "ana@example.com") in kinds


def test_a_shared_phone_joins_two_profiles_and_the_log_names_it(shop):
    a = make_customer(shop, email="a@example.com", phone="+34 612 345 678")
    b = make_customer(shop, email="b@example.com", country="ES")
    pa, pb = resolve_customer(a), resolve_customer(b)
    assert pa.pk != pb.pk
    b.phone = "612 345 678"  # the POS captured b's phone: the same number a gave online
    b.save()
    assert resolve_customer(b, "pos").pk == pa.pk
    log = MergeLog.objects.for_shop(shop).get()
    assert (log.kept_id, log.absorbed_id) == (pa.pk, pb.pk)
    assert (log.joined_by_kind, log.joined_by_value) == ("phone", "+34612345678")
    assert set(Identity.objects.for_shop(shop).filter(pk__in=log.moved_identity_ids).values_list("kind", flat=True)) \
        == {"customer", "email"}


def test_visitor_login_merges_the_anonymous_profile_and_unmerge_restores_the_split(shop):
    customer = make_customer(shop, email="c@example.com")
    make_order(shop, customer, "80.00", days_ago=5)
    known = resolve_customer(customer)
    anon = resolve_visitor(shop.pk, "visitor-1")
    assert anon.pk != known.pk

    merged = resolve_visitor(shop.pk, "visitor-1", customer.pk)
    assert merged.pk == known.pk  # the older profile absorbs the younger one
    anon.refresh_from_db()
    assert not anon.is_active and anon.merged_into_id == known.pk
    log = MergeLog.objects.for_shop(shop).get()
    assert (log.kept_id, log.absorbed_id) == (known.pk, anon.pk)
    assert (log.joined_by_kind, log.joined_by_value) == ("visitor", "visitor-1")
    assert profile_for(shop.pk, visitor_id="visitor-1").pk == known.pk

    kept, absorbed = unmerge(log, by="merchant@example.com")
    assert absorbed.is_active and absorbed.merged_into_id is None
    assert profile_for(shop.pk, visitor_id="visitor-1").pk == anon.pk
    assert profile_for(shop.pk, customer_id=customer.pk).pk == known.pk
    # The merchant said these are two people: the next login does not merge them again.
    again = resolve_visitor(shop.pk, "visitor-1", customer.pk)
    assert again.pk == known.pk
    assert profile_for(shop.pk, visitor_id="visitor-1").pk == anon.pk
    assert MergeLog.objects.for_shop(shop).count() == 1


def test_identities_never_cross_shops(shop, other_shop):
    a = make_customer(shop, email="same@example.com")
    b = make_customer(other_shop, email="same@example.com")
    assert resolve_customer(a).pk != resolve_customer(b).pk
    assert CustomerProfile.objects.for_shop(shop).count() == 1
