"""GDPR hooks for what segments and profiles keep about a person (registered in SegmentsConfig.ready())."""
from __future__ import annotations

from backend.customers.identities import forget_contact_identities
from backend.customers.models import CustomerProfile, Identity
from backend.shops.models import Shop
from backend.shops.redaction import CustomerRef, customers_of

EXPORTED = ["orders_count", "total_spent", "aov", "first_order_at", "last_order_at", "r_score", "f_score", "m_score",
            "sessions_count", "last_seen_at", "accepts_marketing", "p_alive", "expected_value_365", "value_tier"]


def _customer_ids(shop: Shop, ref: CustomerRef) -> list[int]:
    return sorted(customers_of(shop, ref).values_list("pk", flat=True))


def redact_profiles(shop: Shop, ref: CustomerRef) -> None:
    forget_contact_identities(shop.pk, _customer_ids(shop, ref), [ref.email], [ref.phone])


def export_profiles(shop: Shop, ref: CustomerRef) -> list[dict]:
    profile_ids = Identity.objects.for_shop(shop).filter(
        kind=Identity.Kind.CUSTOMER, customer_id__in=_customer_ids(shop, ref)).values_list("profile_id", flat=True)
    out = []
    for p in CustomerProfile.objects.for_shop(shop).filter(pk__in=list(profile_ids)):
        row = {f: getattr(p, f) for f in EXPORTED}
        row = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if v is not None and not isinstance(
            v, bool | int | float | str) else v) for k, v in row.items()}
        row["segments"] = list(p.memberships.values_list("segment__name", flat=True))
        out.append(row)
    return out
