"""The audience as a file in each platform's documented customer-list upload format, for channels we do not sync
(TikTok, Pinterest) and merchants who upload by hand. Only hashed identifiers leave the app, as in the syncs:

- Meta (customer list file): columns email, phone, fn, ln, ct, st, zip, country, extern_id, each normalised as Meta
  documents (backend/audiences/destinations/meta/normalize.py) and SHA-256 hashed.
- Google Ads Customer Match (hashed template): Email, Phone, First Name, Last Name, Country, Zip; the first four
  normalised and hashed as Google documents, Country and Zip plain (Google does not hash them).
- TikTok customer file: Email_SHA256 and Phone_SHA256 headers; emails lower-case without spaces, phones E.164 with
  '+' (TikTok's recommended format), SHA-256 hashed.
- Pinterest customer list: one column, header "email", lower-cased emails SHA-256 hashed (one identifier per row).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils import timezone

from . import membership
from .contacts import Contact, contacts_of
from .destinations.google import normalize as google
from .destinations.meta import normalize as meta
from .hashing import sha256_hex
from .models import Audience


def _h(value: str) -> str:
    return sha256_hex(value) if value else ""


def _meta(contact: Contact) -> list[list[str]]:
    row = meta.hashed_row(contact)
    return [row] if row else []


def _google(contact: Contact) -> list[list[str]]:
    email = next((e for e in map(google.email, contact.emails) if e), "")
    phone = next((p for p in (google.phone(p, contact.country) for p in contact.phones) if p), "")
    if not (email or phone):
        return []
    return [[_h(email), _h(phone), _h(google.given_name(contact.first_name)), _h(google.family_name(contact.last_name)),
             google.region_code(contact.country), google.postal_code(contact.zip, contact.country)]]


def tiktok_email(raw: str) -> str:
    return "".join((raw or "").split()).lower() if "@" in (raw or "") else ""


def _tiktok(contact: Contact) -> list[list[str]]:
    email = next((e for e in map(tiktok_email, contact.emails) if e), "")
    phone = next((p for p in (google.phone(p, contact.country) for p in contact.phones) if p), "")
    return [[_h(email), _h(phone)]] if email or phone else []


def _pinterest(contact: Contact) -> list[list[str]]:
    return [[sha256_hex(e)] for e in sorted({tiktok_email(e) for e in contact.emails} - {""})]


FORMATS: dict[str, tuple[list[str], Callable[[Contact], list[list[str]]]]] = {
    "meta": (["email", "phone", "fn", "ln", "ct", "st", "zip", "country", "extern_id"], _meta),
    "google": (["Email", "Phone", "First Name", "Last Name", "Country", "Zip"], _google),
    "tiktok": (["Email_SHA256", "Phone_SHA256"], _tiktok),
    "pinterest": (["email"], _pinterest),
}


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def export_lines(audience: Audience, fmt: str, now: datetime | None = None) -> Iterator[str]:
    """CSV lines (header first) for who is in the audience now; streamed, a chunk of people at a time."""
    header, rows_of = FORMATS[fmt]
    current = membership.current(audience, now or timezone.now())
    yield _line(header)
    for contact in contacts_of(audience.shop_id, current.profile_ids):
        for row in rows_of(contact):
            yield _line(row)
