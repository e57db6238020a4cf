"""The segment builder: shop-scoped pages in es/en, a live count and preview, and merchant unmerge."""
from __future__ import annotations

import json

import pytest

from backend.customers.identities import resolve_customer, resolve_visitor
from backend.customers.models import MergeLog
from backend.segments.models import Segment
from backend.segments.tasks import update_profile
from tests.customers.factories import make_customer, make_order
from tests.dashboard.factories import sign_in

pytestmark = pytest.mark.django_db


def _buyers(shop, n_repeat=2, n_first=3):
    for i in range(n_repeat + n_first):
        c = make_customer(shop, email=f"b{i}@example.com", country="ES" if i % 2 else "MX")
        make_order(shop, c, f"{20 + i}.00", days_ago=30)
        if i < n_repeat:
            make_order(shop, c, "5.00", days_ago=3)
        update_profile(resolve_customer(c))


def test_pages_need_a_signed_in_shop(client, shop):
    assert client.get("/admin/segments/")["Location"].startswith("/admin/login/")
    refused = client.post("/admin/segments/preview/", "{}", content_type="application/json",
                          headers={"Accept": "application/json"})
    assert refused.status_code == 401


def test_list_shows_presets_metrics_and_definitions_in_both_languages(admin, shop):
    _buyers(shop)
    en = admin.get("/admin/segments/?lang=en").content.decode()
    assert "Repeat buyers" in en and "orders is at least 2" in en
    assert "Retention rate: of the customers who had bought before the period started" in en
    es = admin.get("/admin/segments/?lang=es").content.decode()
    assert "Compradores recurrentes" in es and "pedidos es al menos 2" in es
    assert "Tasa de retención" in es and "Tasa de conversión" in es


def test_preview_counts_members_live_and_explains_errors(admin, shop):
    _buyers(shop)
    rule = {"all": [{"field": "orders_count", "op": "gte", "value": 2}, {"field": "country", "op": "eq",
                                                                         "value": "MX"}]}
    res = admin.post("/admin/segments/preview/?lang=es", json.dumps({"rules": rule}), content_type="application/json")
    data = res.json()
    assert res.status_code == 200 and data["count"] == 1
    assert data["summary"] == "pedidos es al menos 2 y país es MX"
    assert [m["email"] for m in data["members"]] == ["b0@example.com"]

    bad = admin.post("/admin/segments/preview/", json.dumps({"rules": {"field": "orders", "op": "gte", "value": 1}}),
                     content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "rule.field"
    junk = admin.post("/admin/segments/preview/", "{not json", content_type="application/json")
    assert junk.status_code == 400 and "not valid JSON" in junk.json()["errors"][0]["text"]


def test_saving_a_segment_evaluates_it_and_other_shops_cannot_see_it(admin, shop, other_shop, client):
    _buyers(shop)
    rules = json.dumps({"field": "total_spent", "op": "gte", "value": 25})
    res = admin.post("/admin/segments/new/", {"name": "Big spenders", "rules": rules})
    assert res.status_code == 302
    seg = Segment.objects.for_shop(shop).get(slug="big-spenders")
    assert seg.member_count == 2  # totals 25, 26, 22, 23, 24: b0 and b1
    page = admin.get(res["Location"]).content.decode()
    assert "Big spenders" in page and "Segment saved." in page
    from backend.dashboard.models import AuditEntry

    entry = AuditEntry.objects.for_shop(shop).get(action="segment.saved")
    assert entry.target == "segment:big-spenders"
    refused = admin.post("/admin/segments/new/", {"name": "x", "rules": '{"all": []}'})
    assert refused.status_code == 400 and "must be a non-empty list" in refused.content.decode()

    sign_in(client, other_shop)
    assert client.get(f"/admin/segments/{seg.pk}/").status_code == 404


def test_a_merchant_splits_a_merge_from_the_admin(admin, shop):
    c = make_customer(shop, email="m@example.com")
    make_order(shop, c, "10.00", days_ago=2)
    resolve_customer(c)
    resolve_visitor(shop.pk, "vv-1")
    resolve_visitor(shop.pk, "vv-1", c.pk)
    log = MergeLog.objects.for_shop(shop).get()
    page = admin.get("/admin/customers/merges/?lang=en").content.decode()
    assert "vv-1" in page and "Split again" in page
    assert admin.post("/admin/customers/merges/", {"merge": str(log.pk)}).status_code == 302
    log.refresh_from_db()
    assert log.undone_at is not None
    assert admin.post("/admin/customers/merges/", {"merge": "999999"}).status_code == 404
