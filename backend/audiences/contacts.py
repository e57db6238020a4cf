"""The contact data of the people in an audience, read in bulk from our models, never leaving this process raw.

Only profiles whose marketing consent allows it are read at all (`accepts_marketing`, kept per profile from the
platform's customer). Emails and phones come from the profile's identities (already lower-cased / E.164); names,
city, province and country from its most recently updated platform customer; the postal code from that customer's
newest order's shipping address (customers carry none).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from backend.customers.models import Customer, CustomerProfile, Identity
from backend.orders.models import Order

CHUNK = 2000


@dataclass(frozen=True)
class Contact:
    profile_id: int
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164, "+34612345678"
    first_name: str = ""
    last_name: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""  # ISO 3166-1 alpha-2

    @property
    def reachable(self) -> bool:
        """Both platforms need an email or a phone to match someone (or a full name + address, which needs them)."""
        return bool(self.emails or self.phones)


def consenting(shop_id: int, profile_ids: Iterable[int]) -> list[int]:
    """The profiles among `profile_ids` that accept marketing and are still active (not merged away)."""
    ids = sorted(set(profile_ids))
    out: list[int] = []
    for i in range(0, len(ids), CHUNK):
        out += CustomerProfile.objects.for_shop(shop_id).filter(
            pk__in=ids[i:i + CHUNK], is_active=True, accepts_marketing=True).values_list("pk", flat=True)
    return sorted(out)


def contacts_of(shop_id: int, profile_ids: list[int]) -> Iterator[Contact]:
    """Contacts for the (already consent-filtered) profiles, in profile id order, a few queries per chunk."""
    ids = sorted(profile_ids)
    for i in range(0, len(ids), CHUNK):
        yield from _chunk(shop_id, ids[i:i + CHUNK])


def _chunk(shop_id: int, ids: list[int]) -> list[Contact]:
    emails: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    customer_of: dict[int, list[int]] = {}
    rows = Identity.objects.for_shop(shop_id).filter(
        profile_id__in=ids, kind__in=[Identity.Kind.EMAIL, Identity.Kind.PHONE, Identity.Kind.CUSTOMER]
    ).values_list("profile_id", "kind", "value", "customer_id")
    for profile_id, kind, value, customer_id in rows:
        if kind == Identity.Kind.EMAIL:
            emails.setdefault(profile_id, []).append(value)
        elif kind == Identity.Kind.PHONE:
            phones.setdefault(profile_id, []).append(value)
        elif customer_id:
            customer_of.setdefault(profile_id, []).append(customer_id)
    all_customers = [c for cs in customer_of.values() for c in cs]
    customers = {c["pk"]: c for c in Customer.objects.for_shop(shop_id).filter(
        pk__in=all_customers, redacted_at__isnull=True).values(
        "pk", "first_name", "last_name", "city", "province", "country", "platform_updated_at")}
    zips: dict[int, str] = {}
    if customers:
        # Newest order first per customer: the first zip seen wins.
        for customer_id, address in Order.objects.for_shop(shop_id).filter(
                customer_id__in=list(customers)).exclude(shipping_address={}).order_by(
                "customer_id", "-processed_at").values_list("customer_id", "shipping_address"):
            if customer_id not in zips and isinstance(address, dict):
                zips[customer_id] = str(address.get("zip") or "")[:20]
    out = []
    for pid in ids:
        linked = [customers[c] for c in customer_of.get(pid, []) if c in customers]
        linked.sort(key=lambda c: (c["platform_updated_at"] is not None, c["platform_updated_at"] or 0, c["pk"]))
        main = linked[-1] if linked else {}
        out.append(Contact(
            profile_id=pid, emails=tuple(sorted(emails.get(pid, []))), phones=tuple(sorted(phones.get(pid, []))),
            first_name=main.get("first_name", ""), last_name=main.get("last_name", ""), city=main.get("city", ""),
            state=main.get("province", ""), country=main.get("country", ""),
            zip=zips.get(main.get("pk"), "") if main else "",
        ))
    return out
