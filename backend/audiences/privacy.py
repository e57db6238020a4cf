"""GDPR for ad audiences: a redacted customer leaves every destination at once; an export says where they were sent.

The redactor runs inside the redaction's transaction, so it only finds the people and queues their removal for
after the commit (no network call while holding the transaction). Who: the profiles linked to the customer rows the
request names; failing those, any ledger row carrying the hash of the request's email, in either platform's
normalisation.
"""
from __future__ import annotations

from functools import partial

from django.db import transaction

from backend.customers.models import Identity
from backend.shops.models import Shop
from backend.shops.redaction import CustomerRef, customers_of

from .destinations.google import normalize as google_normalize
from .destinations.meta import normalize as meta_normalize
from .hashing import sha256_hex
from .models import RecipeMember, SentMember


def _profiles(shop: Shop, ref: CustomerRef) -> set[int]:
    customer_ids = list(customers_of(shop, ref).values_list("pk", flat=True))
    found = set(Identity.objects.for_shop(shop).filter(kind=Identity.Kind.CUSTOMER, customer_id__in=customer_ids)
                .values_list("profile_id", flat=True))
    if found:
        return found
    # No customer row names them any more (deleted, or only known by email): look for their hashed email in what we
    # sent. A scan of the ledger, so only as the fallback.
    hashes = {sha256_hex(v) for v in (meta_normalize.email(ref.email), google_normalize.email(ref.email)) if v}
    for digest in hashes:
        found |= set(SentMember.objects.for_shop(shop).filter(row__contains=digest)
                     .values_list("profile_id", flat=True))
    return found


def redact_from_destinations(shop: Shop, ref: CustomerRef) -> None:
    profile_ids = sorted(_profiles(shop, ref))
    # What automations put them in goes too, so no later sync sends them again.
    RecipeMember.objects.for_shop(shop).filter(profile_id__in=profile_ids).delete()
    if not profile_ids or not SentMember.objects.for_shop(shop).filter(profile_id__in=profile_ids).exists():
        return
    from .tasks import purge_people

    transaction.on_commit(partial(purge_people.delay, shop.pk, profile_ids))


def export_audiences(shop: Shop, ref: CustomerRef) -> list[dict]:
    """Which ad audiences hold the customer (names and platforms; the hashed rows are not theirs to read back)."""
    profile_ids = sorted(_profiles(shop, ref))
    rows = SentMember.objects.for_shop(shop).filter(profile_id__in=profile_ids).select_related(
        "audience__connection").order_by("audience_id")
    return [{"audience": m.audience.name, "platform": m.audience.connection.platform, "sent_at": m.sent_at.isoformat()}
            for m in rows]
