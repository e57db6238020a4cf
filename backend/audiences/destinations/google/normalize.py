"""Google's Data Manager formatting, through Google's own `google-ads-datamanager-util` Formatter (lower-case emails,
gmail/googlemail dots and +tags removed, E.164 phones with '+', lower-case names, upper-case region, trimmed postal
code; SHA-256 encoded as lower-case hex), plus what the Formatter leaves to us: a phone number with its country code
(the Formatter only strips non-digits, so "(800)555-0100" must become "+18005550100" through phonenumbers first)
and the postal-code rule (US: 5 digits or 5+4; elsewhere no extension).
"""
from __future__ import annotations

import re

from google.ads.datamanager_util import Formatter
from google.ads.datamanager_util.format import Encoding

from backend.audiences.contacts import Contact
from backend.customers.identities import normalise_phone

_formatter = Formatter()


def email(raw: str) -> str:
    try:
        return _formatter.format_email_address(raw or "")
    except ValueError:
        return ""


def phone(raw: str, country: str = "") -> str:
    e164 = normalise_phone(raw, country)
    return _formatter.format_phone_number(e164) if e164 else ""


def given_name(raw: str) -> str:
    try:
        return _formatter.format_given_name(raw or "")
    except ValueError:
        return ""


def family_name(raw: str) -> str:
    try:
        return _formatter.format_family_name(raw or "")
    except ValueError:
        return ""


def region_code(raw: str) -> str:
    try:
        return _formatter.format_region_code(raw or "")
    except ValueError:
        return ""


def postal_code(raw: str, country: str = "") -> str:
    try:
        value = _formatter.format_postal_code(raw or "")
    except ValueError:
        return ""
    if (country or "").upper() == "US":
        match = re.match(r"^(\d{5})(?:-?(\d{4}))?", value.replace(" ", ""))
        return "" if match is None else match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    return value


def hash_hex(value: str) -> str:
    return _formatter.hex_encode(_formatter.hash_string(value))


def hashed_identifiers(contact: Contact) -> list[list[str]] | None:
    """The member's user identifiers as [kind, value] pairs ("email"/"phone": hex SHA-256; "address": the hashed
    given and family names with the plain region and postal codes, sent only when all four are known); None without
    an email or a phone."""
    pairs: list[list[str]] = []
    for raw in contact.emails:
        if value := email(raw):
            pairs.append(["email", hash_hex(value)])
    for raw in contact.phones:
        if value := phone(raw, contact.country):
            pairs.append(["phone", hash_hex(value)])
    if not pairs:
        return None
    given, family = given_name(contact.first_name), family_name(contact.last_name)
    region, postal = region_code(contact.country), postal_code(contact.zip, contact.country)
    if given and family and region and postal:
        pairs.append(["address", hash_hex(given), hash_hex(family), region, postal])
    return pairs[:10]  # the API takes at most 10 identifiers per member


__all__ = ["Encoding", "email", "phone", "given_name", "family_name", "region_code", "postal_code",
           "hashed_identifiers"]
