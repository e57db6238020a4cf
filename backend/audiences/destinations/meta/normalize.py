"""Meta's customer-list normalisation, field by field, then SHA-256 (Marketing API "Hashing and Normalizing Data" and
the Conversions API customer information parameters, whose examples are the test vectors).

Written by hand rather than with facebook-business's `CustomAudience.normalize_key`: the SDK keeps only a-z in names
and cities, so "Valéry" becomes "valry", while Meta's documentation hashes "valéry" (UTF-8 letters are kept). We
therefore hash here and hand the SDK pre-hashed rows.
"""
from __future__ import annotations

import re
import unicodedata

from backend.audiences.contacts import Contact
from backend.audiences.hashing import sha256_hex
from backend.customers.identities import normalise_phone

# The multi-key schema we send, in this order: the stand-in (and Meta) read each row positionally.
SCHEMA = ["EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "EXTERN_ID"]

US_STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
    "connecticut": "ct", "delaware": "de", "district of columbia": "dc", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
    "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi",
    "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv",
    "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm", "new york": "ny", "north carolina": "nc",
    "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhode island": "ri", "south carolina": "sc", "south dakota": "sd", "tennessee": "tn", "texas": "tx",
    "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa", "west virginia": "wv",
    "wisconsin": "wi", "wyoming": "wy", "puerto rico": "pr",
}


def _letters(value: str) -> str:
    """Lower-case letters only (any script, UTF-8): no punctuation, digits, symbols or whitespace."""
    value = unicodedata.normalize("NFC", (value or "").strip().lower())
    return "".join(ch for ch in value if ch.isalpha() or unicodedata.category(ch).startswith("M"))


def email(raw: str) -> str:
    """Trim and lower-case ("John_Smith@gmail.com" -> "john_smith@gmail.com"); "" unless it looks like an address."""
    value = (raw or "").strip().lower()
    return value if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else ""


def phone(raw: str, country: str = "") -> str:
    """Digits with the country code, no '+', no leading zeros ("(650)555-1212" in the US -> "16505551212")."""
    e164 = normalise_phone(raw, country)
    return e164.lstrip("+").lstrip("0") if e164 else ""


def name(raw: str) -> str:
    """First or last name: lower case, no punctuation, UTF-8 letters kept ("Valéry" -> "valéry")."""
    return _letters(raw)


def city(raw: str) -> str:
    """Lower case, no punctuation, no special characters, no spaces ("Menlo Park" -> "menlopark")."""
    return _letters(raw)


def state(raw: str, country: str = "") -> str:
    """US: the 2-letter ANSI code in lower case ("California" or "CA" -> "ca"); elsewhere letters only, lower case."""
    value = (raw or "").strip().lower()
    if (country or "").upper() == "US":
        if len(value) == 2 and value.isalpha():
            return value
        return US_STATES.get(re.sub(r"\s+", " ", value), "")
    return _letters(value)


def zip_code(raw: str, country: str = "") -> str:
    """Lower case, no spaces or dashes; US: the first 5 digits; UK: area, district, sector ("SW1A 1AA" -> "sw1a1")."""
    value = re.sub(r"[\s-]", "", (raw or "").lower())
    cc = (country or "").upper()
    if cc == "US":
        digits = re.match(r"\d{5}", value)
        return digits.group(0) if digits else ""
    if cc == "GB" and len(value) >= 5:
        return value[:-3] + value[-3]  # outward code + the sector digit of the inward code
    return value


def country(raw: str) -> str:
    """ISO 3166-1 alpha-2 in lower case ("US" -> "us")."""
    value = (raw or "").strip().lower()
    return value if re.fullmatch(r"[a-z]{2}", value) else ""


def external_id(profile_id: int) -> str:
    """Our own id for the person, stable within the shop (Meta recommends hashing it too)."""
    return str(profile_id)


def normalised_row(contact: Contact) -> list[str]:
    """The row in SCHEMA order before hashing ("" where we do not know the field)."""
    cc = contact.country
    return [
        email(contact.emails[0]) if contact.emails else "",
        phone(contact.phones[0], cc) if contact.phones else "",
        name(contact.first_name), name(contact.last_name), city(contact.city), state(contact.state, cc),
        zip_code(contact.zip, cc), country(cc), external_id(contact.profile_id),
    ]


def hashed_row(contact: Contact) -> list[str] | None:
    """The row Meta receives: every known field SHA-256 hashed, unknown ones empty; None without email or phone."""
    row = normalised_row(contact)
    if not (row[0] or row[1]):
        return None
    return [sha256_hex(v) if v else "" for v in row]
