"""Settings (validated, audited, language override) and the audit trail fed by the other screens."""
from __future__ import annotations

import pytest

from backend.dashboard.audit import record
from backend.dashboard.models import AuditEntry, ShopSettings
from backend.shops.models import SyncRun
from tests.dashboard.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(client, shop):
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    return client


def test_settings_are_validated_audited_and_switch_the_language(merchant, shop):
    assert "Getting started" in merchant.get("/admin/").content.decode()
    bad = merchant.post("/admin/settings/", {"attribution_window_days": 0, "data_retention_days": 365})
    assert bad.status_code == 400
    ok = merchant.post("/admin/settings/", {"attribution_window_days": 14, "data_retention_days": 365,
                                            "locale_override": "es"})
    assert ok.status_code == 302
    assert ShopSettings.of(shop).attribution_window_days == 14
    entry = AuditEntry.objects.for_shop(shop).get(action="settings.update")
    assert entry.before is None and entry.after["attribution_window_days"] == 14
    home = merchant.get("/admin/").content.decode()
    assert "Primeros pasos" in home and "Analítica" in home  # every page follows the override
    assert "Experimentos" in merchant.get("/admin/experiments/").content.decode()
    assert "Getting started" in merchant.get("/admin/?lang=en").content.decode()


def test_widget_rule_change_in_the_widgets_screen_is_audited(merchant, shop):
    merchant.post("/admin/widgets/", {"widget": "bestsellers", "bestsellers-enabled": "on",
                                      "bestsellers-title_en": "Top picks", "bestsellers-limit": "6",
                                      "bestsellers-min_stock": "0"})
    entry = AuditEntry.objects.for_shop(shop).get(action="widget_rule.update")
    assert entry.target == "widget:bestsellers" and entry.actor == "user:ana@example.com"
    assert entry.before["title_en"] == "" and entry.after["title_en"] == "Top picks"
    page = merchant.get("/admin/audit/").content.decode()
    assert "Top picks" in page and "widget_rule.update" in page


def test_audit_entries_stay_in_their_shop(client, shop, other_shop):
    record(other_shop, "system", "segment.saved", "segment:x", None, {"name": "secret"})
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert "secret" not in client.get("/admin/audit/").content.decode()


def test_home_shows_sync_progress_checklist_and_theme_editor_link(merchant, shop):
    SyncRun.objects.create(shop=shop, rows_done=30, rows_total=120)
    html = merchant.get("/admin/").content.decode()
    assert 'aria-valuenow="25"' in html
    assert f"https://{shop.domain}/admin/themes/current/editor?context=apps&amp;activateAppId=" in html
    assert html.count('class="badge warn">To do') == 3  # no events seen yet


def test_popup_campaign_save_is_audited(merchant, shop):
    from tests.popups.test_admin import FORM

    assert merchant.post("/admin/popups/new/", FORM).status_code == 302
    entry = AuditEntry.objects.for_shop(shop).get(action="popup_campaign.saved")
    assert entry.before is None and entry.after["name"] == FORM["name"]
    assert entry.actor == "user:ana@example.com"


def test_data_retention_deletes_old_events_in_the_daily_events_upkeep(shop, other_shop):
    from datetime import timedelta

    from backend.events.models import Event
    from backend.events.tasks import maintain_events
    from tests.dashboard.factories import event, now

    ShopSettings.objects.create(shop=shop, data_retention_days=30)
    old = event(shop, "widget_impression", "v1", now() - timedelta(days=31))
    fresh = event(shop, "widget_impression", "v1", now() - timedelta(days=29))
    theirs = event(other_shop, "widget_impression", "v1", now() - timedelta(days=31))
    maintain_events()
    assert list(Event.objects.for_shop(shop).values_list("pk", flat=True)) == [fresh.pk]
    assert Event.objects.for_shop(other_shop).filter(pk=theirs.pk).exists() and old.pk != fresh.pk


def test_gdpr_exports_are_listed_and_downloadable_in_their_shop_only(merchant, shop, other_shop):
    from backend.shops.models import CustomerDataExport

    mine = CustomerDataExport.objects.create(shop=shop, request_id="req-1", data={"email": "a@example.com"})
    theirs = CustomerDataExport.objects.create(shop=other_shop, request_id="req-2", data={"email": "b@example.com"})
    assert "req-1" in merchant.get("/admin/settings/").content.decode()
    got = merchant.get(f"/admin/settings/exports/{mine.pk}.json")
    assert got.status_code == 200 and got.json() == {"email": "a@example.com"}
    assert merchant.get(f"/admin/settings/exports/{theirs.pk}.json").status_code == 404
    assert AuditEntry.objects.for_shop(shop).filter(action="gdpr_export.download").count() == 1
