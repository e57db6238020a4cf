"""Who is who: identities (platform customer, email, phone, visitor id) resolved to one profile per person.

A profile is found through any identity it owns. When a new fact links identities owned by two profiles (a POS
customer with the online customer's email, a visitor logging in), the younger profile is merged into the older
one and a MergeLog records which identity joined them. A merchant can undo a merge: the absorbed profile gets
back what it owned, and the pair is never merged automatically again.
"""
from __future__ import annotations

import logging

import phonenumbers
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Customer, CustomerProfile, Identity, MergeLog

logger = logging.getLogger("personalize.customers")

Key = tuple[str, str]  # (Identity.Kind, normalised value)


def normalise_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    return value if "@" in value and len(value) <= 320 else ""


def normalise_phone(raw: str, country: str = "") -> str:
    """E.164 ("+34612345678") using the customer's country for national numbers; "" when not a valid number."""
    if not raw or len(raw) > 40:
        return ""
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def customer_keys(customer: Customer) -> list[Key]:
    keys: list[Key] = [(Identity.Kind.CUSTOMER, str(customer.pk))]
    if email := normalise_email(customer.email):
        keys.append((Identity.Kind.EMAIL, email))
    if phone := normalise_phone(customer.phone, customer.country):
        keys.append((Identity.Kind.PHONE, phone))
    return keys


def _blocked(shop_id: int, a: int, b: int) -> bool:
    """A merchant split these two apart: never merge them again on our own."""
    return (
        MergeLog.objects.for_shop(shop_id)
        .filter(undone_at__isnull=False)
        .filter(Q(kept_id=a, absorbed_id=b) | Q(kept_id=b, absorbed_id=a))
        .exists()
    )


def merge_profiles(kept: CustomerProfile, absorbed: CustomerProfile, joined_by: Key) -> MergeLog:
    """Move every identity of `absorbed` to `kept`, remember which ones, and deactivate `absorbed`."""
    moved = list(Identity.objects.for_shop(kept.shop_id).filter(profile=absorbed).values_list("id", flat=True))
    Identity.objects.for_shop(kept.shop_id).filter(id__in=moved).update(profile=kept)
    CustomerProfile.objects.for_shop(kept.shop_id).filter(pk=absorbed.pk).update(
        is_active=False, merged_into=kept
    )
    absorbed.is_active, absorbed.merged_into = False, kept
    log = MergeLog.objects.create(
        shop_id=kept.shop_id, kept=kept, absorbed=absorbed,
        joined_by_kind=joined_by[0], joined_by_value=joined_by[1], moved_identity_ids=moved,
    )
    logger.info("merged profile %s into %s via %s", absorbed.pk, kept.pk, joined_by[0])
    return log


def unmerge(log: MergeLog, by: str = "") -> tuple[CustomerProfile, CustomerProfile]:
    """Undo one merge: the absorbed profile is active again with the identities it brought."""
    with transaction.atomic():
        log = MergeLog.objects.for_shop(log.shop_id).select_for_update().get(pk=log.pk)
        if log.undone_at:
            return log.kept, log.absorbed
        Identity.objects.for_shop(log.shop_id).filter(id__in=log.moved_identity_ids).update(profile=log.absorbed)
        CustomerProfile.objects.for_shop(log.shop_id).filter(pk=log.absorbed_id).update(
            is_active=True, merged_into=None
        )
        log.undone_at = timezone.now()
        log.undone_by = by[:255]
        log.save(update_fields=["undone_at", "undone_by"])
    kept = CustomerProfile.objects.for_shop(log.shop_id).get(pk=log.kept_id)
    absorbed = CustomerProfile.objects.for_shop(log.shop_id).get(pk=log.absorbed_id)
    return kept, absorbed


def _owners(shop_id: int, keys: list[Key]) -> list[Identity]:
    return list(
        Identity.objects.for_shop(shop_id)
        .filter(Q(*[Q(kind=k, value=v) for k, v in keys], _connector=Q.OR))
        .select_related("profile")
    )


def _attach(shop_id: int, keys: list[Key], channel: str, customer_id: int | None,
            rows: list[Identity] | None = None) -> CustomerProfile:
    """The profile owning any of `keys` (merging owners where allowed), with every key attached to it."""
    if rows is None:
        rows = _owners(shop_id, keys)
    owners: dict[int, CustomerProfile] = {}
    key_owner: dict[Key, int] = {}
    for row in rows:
        owners[row.profile_id] = row.profile
        key_owner[(row.kind, row.value)] = row.profile_id

    # The profile of the first key (the strongest: customer id, or the visitor id) leads when several exist.
    lead_key = next((k for k in keys if k in key_owner), None)
    if lead_key is None:
        profile = CustomerProfile.objects.create(shop_id=shop_id)
        # A brand-new profile owns exactly these keys and no memberships: later steps need not ask the database.
        profile.fresh_links = [(k, v, customer_id if k == Identity.Kind.CUSTOMER else None) for k, v in keys]
    else:
        profile = owners[key_owner[lead_key]]
        # Oldest first: a long-lived customer profile absorbs a fresh visitor profile, not the other way round.
        for pid in sorted(owners):
            other = owners[pid]
            if pid == profile.pk or not other.is_active:
                continue
            if _blocked(shop_id, profile.pk, pid):
                continue
            joined = next(k for k in keys if key_owner.get(k) == pid)
            kept, absorbed = (other, profile) if pid < profile.pk else (profile, other)
            merge_profiles(kept, absorbed, joined)
            profile = kept
            profile.absorbed_now = True  # the caller settles the absorbed profiles' memberships
    for kind, value in keys:
        if (kind, value) in key_owner:
            continue
        Identity.objects.create(
            shop_id=shop_id, profile=profile, kind=kind, value=value, channel=channel[:20],
            customer_id=customer_id if kind == Identity.Kind.CUSTOMER else None,
        )
    return profile


def _resolve(shop_id: int, keys: list[Key], channel: str, customer_id: int | None) -> CustomerProfile:
    rows = _owners(shop_id, keys)
    # Fast path, no transaction: every key already belongs to the same active profile (the common case).
    if len(rows) == len(keys) and len({r.profile_id for r in rows}) == 1 and rows[0].profile.is_active:
        return rows[0].profile
    # Two workers may attach the same new identity at once; the unique constraint lets one win, the other retries.
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _attach(shop_id, keys, channel, customer_id, rows if attempt == 0 else None)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def resolve_customer(customer: Customer, channel: str = "") -> CustomerProfile:
    """The profile of a platform customer, creating or merging as their identities require."""
    return _resolve(customer.shop_id, customer_keys(customer), channel, customer.pk)


def resolve_visitor(shop_id: int, visitor_id: str, customer_id: int | None = None) -> CustomerProfile | None:
    """The profile of a storefront visitor; when the visitor is a known customer, the two profiles become one."""
    visitor_id = (visitor_id or "")[:64]
    keys: list[Key] = []
    if customer_id:
        customer = Customer.objects.for_shop(shop_id).filter(pk=customer_id).first()
        if customer is not None:
            keys = customer_keys(customer)
    if visitor_id:
        keys.append((Identity.Kind.VISITOR, visitor_id))
    if not keys:
        return None
    return _resolve(shop_id, keys, "online", customer_id)


def profile_for(shop_id: int, customer_id: int | None = None, visitor_id: str = "") -> CustomerProfile | None:
    """Read-only lookup (no creation): the active profile owning this customer or visitor id."""
    lookups = []
    if customer_id:
        lookups.append(Q(kind=Identity.Kind.CUSTOMER, value=str(customer_id)))
    if visitor_id:
        lookups.append(Q(kind=Identity.Kind.VISITOR, value=visitor_id[:64]))
    if not lookups:
        return None
    for lookup in lookups:  # customer first: it is the stronger identity
        row = Identity.objects.for_shop(shop_id).filter(lookup).select_related("profile").first()
        if row is not None and row.profile.is_active:
            return row.profile
    return None


def link_new_customers(shop_id: int) -> int:
    """Give every customer without a profile one (after a bulk sync), in bulk where nothing needs merging.

    Customers that share an email or phone with each other or with an existing identity go through
    resolve_customer one by one, so merges stay explained in the MergeLog.
    """
    linked = set(Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER)
                 .values_list("customer_id", flat=True))
    fresh = [c for c in Customer.objects.for_shop(shop_id).exclude(pk__in=linked).iterator(chunk_size=5000)]
    if not fresh:
        return 0
    keys = {c.pk: customer_keys(c) for c in fresh}
    seen: dict[Key, int] = {}
    shared: set[int] = set()
    for cid, ks in keys.items():
        for k in ks[1:]:  # email and phone: the keys two customers can share
            if k in seen:
                shared.update({cid, seen[k]})
            seen[k] = cid
    for kind in (Identity.Kind.EMAIL, Identity.Kind.PHONE):
        values = [v for k, v in seen if k == kind]
        for i in range(0, len(values), 1000):
            for value in Identity.objects.for_shop(shop_id).filter(kind=kind, value__in=values[i:i + 1000]) \
                    .values_list("value", flat=True):
                shared.add(seen[(kind, value)])
    simple = [c for c in fresh if c.pk not in shared]
    for i in range(0, len(simple), 1000):
        batch = simple[i:i + 1000]
        with transaction.atomic():
            profiles = CustomerProfile.objects.bulk_create([CustomerProfile(shop_id=shop_id) for _ in batch])
            Identity.objects.bulk_create([
                Identity(shop_id=shop_id, profile=p, kind=kind, value=value,
                         customer_id=c.pk if kind == Identity.Kind.CUSTOMER else None)
                for c, p in zip(batch, profiles, strict=True) for kind, value in keys[c.pk]
            ])
    for c in fresh:
        if c.pk in shared:
            resolve_customer(c)
    return len(fresh)


def forget_contact_identities(shop_id: int, customer_ids: list[int], emails: list[str], phones: list[str]) -> int:
    """GDPR redaction: drop the email and phone identities of these customers' profiles (and any matching the
    given contacts), and blank the copied email on those profiles. Customer and visitor ids stay: they are ours
    and pseudonymous, and keep the anonymous order history counted."""
    profile_ids = set(Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER,
                                                               customer_id__in=customer_ids)
                      .values_list("profile_id", flat=True))
    contacts = Q(kind=Identity.Kind.EMAIL, value__in=[normalise_email(e) for e in emails if e]) | Q(
        kind=Identity.Kind.PHONE, value__in=[p for p in (normalise_phone(p) for p in phones) if p])
    profile_ids |= set(Identity.objects.for_shop(shop_id).filter(contacts).values_list("profile_id", flat=True))
    deleted, _ = Identity.objects.for_shop(shop_id).filter(
        Q(profile_id__in=profile_ids, kind__in=[Identity.Kind.EMAIL, Identity.Kind.PHONE]) | contacts
    ).delete()
    CustomerProfile.objects.for_shop(shop_id).filter(pk__in=profile_ids).update(email="", tags_text="")
    MergeLog.objects.for_shop(shop_id).filter(
        Q(kept_id__in=profile_ids) | Q(absorbed_id__in=profile_ids),
        joined_by_kind__in=[Identity.Kind.EMAIL, Identity.Kind.PHONE],
    ).update(joined_by_value="(redacted)")
    return deleted
