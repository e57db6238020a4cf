"""Who may get marketing email: an address, the platform's marketing consent (Shopify's emailMarketingConsent,
WooCommerce's opt-in, both land in Customer.accepts_marketing) or the popup's recorded consent, and no suppression.

Read at send time from the source rows, not the profile's derived copy: a shopper who unsubscribed on the
platform a minute ago gets nothing, whatever the nightly refresh has not seen yet.
"""
from __future__ import annotations

from django.utils import timezone

from backend.customers.identities import normalise_email
from backend.customers.models import Customer, CustomerProfile, Identity
from backend.popups.models import Consent

from .models import Suppression


def is_suppressed(shop_id: int, email: str) -> bool:
    return Suppression.objects.for_shop(shop_id).filter(email=normalise_email(email)).exists()


def suppress(shop_id: int, email: str, reason: str) -> bool:
    """Stop marketing email to the address (unsubscribe, bounce, complaint); True when it is newly suppressed."""
    email = normalise_email(email)
    if not email:
        return False
    _, created = Suppression.objects.for_shop(shop_id).get_or_create(
        shop_id=shop_id, email=email, defaults={"reason": reason[:20], "at": timezone.now()})
    return created


def marketing_address(profile: CustomerProfile) -> str:
    """The address to send marketing to, or "" when there is none or no consent for it."""
    email = normalise_email(profile.email or "")
    customer_ids = list(Identity.objects.for_shop(profile.shop_id).filter(
        profile=profile, kind=Identity.Kind.CUSTOMER).values_list("customer_id", flat=True))
    customers = list(Customer.objects.for_shop(profile.shop_id).filter(pk__in=customer_ids)
                     .values_list("email", "accepts_marketing"))
    if not email:
        email = next((normalise_email(e) for e, _ in customers if e), "")
    if not email or is_suppressed(profile.shop_id, email):
        return ""
    if customers:  # the platform knows this person: its consent is the one that counts
        return email if any(ok for _, ok in customers) else ""
    popup = Consent.objects.for_shop(profile.shop_id).filter(email=email, purpose="marketing").exists()
    return email if popup else ""
