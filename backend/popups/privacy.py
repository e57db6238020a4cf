"""GDPR hooks for what popups keep about a person: emails given with consent (registered in PopupsConfig.ready())."""
from __future__ import annotations

from backend.shops.models import Shop
from backend.shops.redaction import CustomerRef

from .models import Consent


def redact_consents(shop: Shop, ref: CustomerRef) -> None:
    if ref.email:
        Consent.objects.for_shop(shop).filter(email__iexact=ref.email.strip()).delete()


def export_consents(shop: Shop, ref: CustomerRef) -> list[dict]:
    if not ref.email:
        return []
    rows = Consent.objects.for_shop(shop).filter(email__iexact=ref.email.strip()).order_by("given_at")
    return [{"email": c.email, "purpose": c.purpose, "text": c.text, "locale": c.locale,
             "given_at": c.given_at.isoformat()} for c in rows]
