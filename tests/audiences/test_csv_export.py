"""CSV exports in each platform's upload format: the headers they document, hashed identifiers only."""
from __future__ import annotations

import csv
import io

import pytest

from backend.audiences.csv_export import export_lines, tiktok_email
from backend.audiences.hashing import sha256_hex
from backend.audiences.presets import create_from_preset
from backend.segments import tasks as segment_tasks
from tests.customers.factories import make_order
from tests.storefront.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyers(shop):
    people = [
        make_customer(shop, platform_id="1", email="Cloudy.SF+ads@gmail.com", phone="+1 650 555 0100",
                      first_name="Jane", last_name="Doe", country="US", accepts_marketing=True),
        make_customer(shop, platform_id="2", email="no.consent@example.com", accepts_marketing=False),
    ]
    for c in people:
        make_order(shop, c, "10.00", shipping_address={"zip": "94043-1351"})
        segment_tasks.profile_changed(shop.pk, c.pk)
    return people


def read(audience, fmt):
    return list(csv.reader(io.StringIO("".join(export_lines(audience, fmt)))))


def test_every_format_has_its_documented_header_and_only_consenting_hashed_people(shop, buyers, meta_connection):
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    meta_rows = read(audience, "meta")
    assert meta_rows[0] == ["email", "phone", "fn", "ln", "ct", "st", "zip", "country", "extern_id"]
    assert len(meta_rows) == 2  # the customer without marketing consent is not in any file
    assert meta_rows[1][:3] == [sha256_hex("cloudy.sf+ads@gmail.com"), sha256_hex("16505550100"), sha256_hex("jane")]
    assert meta_rows[1][6:8] == [sha256_hex("94043"), sha256_hex("us")]

    google_rows = read(audience, "google")
    assert google_rows == [["Email", "Phone", "First Name", "Last Name", "Country", "Zip"],
                           [sha256_hex("cloudysf@gmail.com"), sha256_hex("+16505550100"), sha256_hex("jane"),
                            sha256_hex("doe"), "US", "94043-1351"]]
    assert read(audience, "tiktok") == [["Email_SHA256", "Phone_SHA256"],
                                        [sha256_hex("cloudy.sf+ads@gmail.com"), sha256_hex("+16505550100")]]
    assert read(audience, "pinterest") == [["email"], [sha256_hex("cloudy.sf+ads@gmail.com")]]
    text = "".join("".join(export_lines(audience, f)) for f in ("meta", "google", "tiktok", "pinterest"))
    assert "@" not in text and "jane" not in text.lower()


def test_tiktok_email_example():
    # TikTok's customer-file example: "janedoe@gmail.com" hashes to d6117306...
    assert sha256_hex(tiktok_email(" JaneDoe@Gmail.com ")) == \
        "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"
