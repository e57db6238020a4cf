"""Normalisation and hashing of every field, per platform. Where the platform's documentation gives an example, the
test uses it (input, normalised form and, where published, the SHA-256); otherwise the documented rule's example."""
from __future__ import annotations

import hashlib

import pytest

from backend.audiences.contacts import Contact
from backend.audiences.destinations.google import normalize as google
from backend.audiences.destinations.meta import normalize as meta
from backend.audiences.hashing import is_sha256_hex, sha256_hex


def test_sha256_is_lower_case_hex_of_utf8():
    assert sha256_hex("valéry") == hashlib.sha256("valéry".encode()).hexdigest()
    assert is_sha256_hex(sha256_hex("x")) and not is_sha256_hex(sha256_hex("x").upper())
    assert not is_sha256_hex("john@example.com")


# ---- Meta: the Conversions API customer-information examples publish these hashes.
@pytest.mark.parametrize(("fn", "raw", "normalised", "digest"), [
    (meta.email, "John_Smith@gmail.com", "john_smith@gmail.com",
     "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
    (meta.name, "Mary", "mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
    (meta.name, "정", "정", "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14"),
    (meta.name, "Valéry", "valéry", "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"),
])
def test_meta_documented_hashes(fn, raw, normalised, digest):
    assert fn(raw) == normalised
    assert sha256_hex(fn(raw)) == digest


def test_meta_phone_is_digits_with_country_code_no_plus():
    # Meta's example: US (650)555-1212 -> 16505551212 -> e323ec62...
    assert meta.phone("(650)555-1212", "US") == "16505551212"
    assert sha256_hex(meta.phone("(650)555-1212", "US")) == \
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    assert meta.phone("+34 612 34 56 78") == "34612345678"
    assert meta.phone("0612 345 678", "ES") == ""  # not a valid Spanish number: never guessed
    assert meta.phone("not a phone", "US") == ""


@pytest.mark.parametrize(("raw", "normalised"), [
    (" Ana.Perez@Example.COM ", "ana.perez@example.com"),  # trimmed, lower-cased, dots kept (Meta keeps them)
    ("first.last+tag@gmail.com", "first.last+tag@gmail.com"),
    ("no-at-sign", ""),
])
def test_meta_email(raw, normalised):
    assert meta.email(raw) == normalised


@pytest.mark.parametrize(("fn", "raw", "normalised"), [
    (meta.name, "Mary-Jane O'Neil", "maryjaneoneil"),  # no punctuation, no spaces
    (meta.city, "Menlo Park", "menlopark"),  # Meta's example
    (meta.city, "Logroño, La Rioja", "logroñolarioja"),  # UTF-8 letters kept
    (lambda v: meta.state(v, "US"), "California", "ca"),  # US: the 2-letter ANSI code
    (lambda v: meta.state(v, "US"), "CA", "ca"),
    (lambda v: meta.state(v, "FR"), "Île-de-France", "îledefrance"),  # elsewhere: letters only, lower case
    (lambda v: meta.zip_code(v, "US"), "94025-1234", "94025"),  # US: five digits
    (lambda v: meta.zip_code(v, "GB"), "SW1A 1AA", "sw1a1"),  # UK: area, district, sector
    (lambda v: meta.zip_code(v, "ES"), "28 001", "28001"),
])
def test_meta_location_fields(fn, raw, normalised):
    assert fn(raw) == normalised


def test_meta_country_and_external_id():
    assert meta.country("US") == "us" and meta.country("usa") == ""
    assert meta.external_id(1234) == "1234"


def test_meta_row_follows_the_schema_order_and_hashes_every_known_field():
    contact = Contact(profile_id=7, emails=("Ana@Example.com",), phones=("+34612345678",), first_name="Ana",
                      last_name="Pérez", city="Madrid", state="Madrid", zip="28001", country="ES")
    row = meta.hashed_row(contact)
    assert meta.SCHEMA == ["EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "EXTERN_ID"]
    plain = ["ana@example.com", "34612345678", "ana", "pérez", "madrid", "madrid", "28001", "es", "7"]
    assert row == [sha256_hex(v) for v in plain]
    assert meta.hashed_row(Contact(profile_id=8, first_name="No", last_name="Contact")) is None
    sparse = meta.hashed_row(Contact(profile_id=9, emails=("x@example.com",)))
    assert sparse[0] == sha256_hex("x@example.com") and sparse[1:8] == [""] * 7


# ---- Google Data Manager: the "Format user data" examples.
@pytest.mark.parametrize(("raw", "normalised"), [
    ("cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),  # gmail: dots and +tag removed
    ("Jane.Doe@GoogleMail.com", "janedoe@googlemail.com"),
    ("user.name+NYC@Example.com", "user.name+nyc@example.com"),  # other domains keep both
    ("  DanaM@example.com ", "danam@example.com"),
    ("not an email", ""),
])
def test_google_email(raw, normalised):
    assert google.email(raw) == normalised


def test_google_phone_is_e164_with_plus():
    assert google.phone("(800)555-0100", "US") == "+18005550100"  # the documented example
    assert google.phone("612 34 56 78", "ES") == "+34612345678"
    assert google.phone("12", "ES") == ""


@pytest.mark.parametrize(("fn", "args", "normalised"), [
    (google.given_name, (" Jane ",), "jane"),
    (google.family_name, ("DOE",), "doe"),
    (google.region_code, ("es",), "ES"),  # not hashed
    (google.region_code, ("ESP",), ""),
    (google.postal_code, ("94043-1351", "US"), "94043-1351"),  # US: 5 digits or 5+4
    (google.postal_code, ("94043 1351", "US"), "94043-1351"),
    (google.postal_code, (" 28001 ", "ES"), "28001"),  # not hashed
])
def test_google_address_fields(fn, args, normalised):
    assert fn(*args) == normalised


def test_google_identifiers_hash_contacts_and_send_region_and_postal_code_plain():
    contact = Contact(profile_id=1, emails=("Cloudy.SF@gmail.com",), phones=("+16505550100",), first_name="Jane",
                      last_name="Doe", zip="94043", country="US")
    pairs = google.hashed_identifiers(contact)
    assert pairs == [
        ["email", sha256_hex("cloudysf@gmail.com")],
        ["phone", sha256_hex("+16505550100")],
        ["address", sha256_hex("jane"), sha256_hex("doe"), "US", "94043"],
    ]
    # Without a postal code the address is incomplete and left out; without email or phone: no member.
    assert [p[0] for p in google.hashed_identifiers(Contact(1, emails=("a@b.co",), first_name="A",
                                                            last_name="B", country="US"))] == ["email"]
    assert google.hashed_identifiers(Contact(1, first_name="A", last_name="B", zip="1", country="US")) is None
