"""The merchant's ad audience screen: es/en, connect accounts (tokens encrypted, never shown), create from a preset,
see size / matched / last run / the small-audience warning, run, pause, refresh, CSV; scoped to the shop."""
from __future__ import annotations

import pytest
from django.db import connection as db

from backend.audiences.models import AdConnection, Audience
from backend.dashboard.models import AuditEntry
from backend.segments import tasks as segment_tasks
from tests.customers.factories import make_order
from tests.storefront.factories import make_customer

pytestmark = pytest.mark.django_db


def test_the_screen_needs_a_signed_in_shop(client, shop):
    assert client.get("/admin/audiences/")["Location"].startswith("/admin/login/")


def test_connect_stores_the_token_encrypted_and_never_shows_it(admin, shop, meta):
    secret = "EAAB-very-secret-token-123"
    response = admin.post("/admin/audiences/?lang=en", {"action": "connect", "platform": "meta",
                                                        "account_id": "act_1001", "access_token": secret})
    assert response.status_code == 302
    stored = AdConnection.objects.for_shop(shop).get(platform="meta")
    assert stored.access_token == secret
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token FROM audiences_adconnection WHERE id = %s", [stored.pk])
        raw = cursor.fetchone()[0]
    assert raw and secret not in raw
    page = admin.get("/admin/audiences/?lang=en").content.decode()
    assert secret not in page and "Connected: ad account act_1001." in page
    entry = AuditEntry.objects.for_shop(shop).get(action="ad_connection.saved")
    assert secret not in str(entry.after) and entry.after["account_id"] == "act_1001"


def test_bad_connection_values_are_refused_with_reasons(admin, shop):
    response = admin.post("/admin/audiences/?lang=es", {"action": "connect", "platform": "google",
                                                        "account_id": "12ab", "access_token": "a b"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Id de cuenta: solo dígitos" in page and "Token de acceso: pega el token" in page
    assert not AdConnection.objects.for_shop(shop).exists()


def test_create_from_preset_runs_and_the_list_shows_size_match_result_and_warning(admin, shop, meta_connection,
                                                                                   meta,
                                                                                   django_capture_on_commit_callbacks):
    c = make_customer(shop, platform_id="1", email="buyer@example.com", accepts_marketing=True)
    make_order(shop, c, "10.00")
    segment_tasks.profile_changed(shop.pk, c.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/admin/audiences/?lang=en", {"action": "create", "preset": "recent-buyers-30d",
                                                            "connection": str(meta_connection.pk)})
    assert response.status_code == 302
    audience = Audience.objects.for_shop(shop).get()
    assert audience.purpose == "exclude" and audience.size == 1 and audience.matched_size == 1
    en = admin.get("/admin/audiences/?lang=en").content.decode()
    assert "Recent buyers (30 days)" in en and "Meta · act_1001" in en and "Exclude" in en
    assert "Fewer than 100 people" in en and ">OK<" in en
    es = admin.get("/admin/audiences/?lang=es").content.decode()
    assert "Compradores recientes (30 días)" in es and "Menos de 100 personas" in es and "Excluir" in es
    assert 'name="viewport"' in es and 'data-label="Tamaño aquí"' in es  # phones read each row as a card


def test_run_pause_refresh_and_csv(admin, shop, meta_connection, meta, django_capture_on_commit_callbacks):
    from backend.audiences.presets import create_from_preset

    audience = create_from_preset("vip", meta_connection)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/admin/audiences/{audience.pk}/", {"action": "run"}).status_code == 302
    assert Audience.objects.for_shop(shop).get(pk=audience.pk).last_result == "ok"
    assert admin.post(f"/admin/audiences/{audience.pk}/", {"action": "refresh",
                                                           "refresh_minutes": "1440"}).status_code == 302
    assert Audience.objects.for_shop(shop).get(pk=audience.pk).refresh_minutes == 1440
    assert admin.post(f"/admin/audiences/{audience.pk}/", {"action": "refresh",
                                                           "refresh_minutes": "7"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/admin/audiences/{audience.pk}/", {"action": "pause"})
    assert Audience.objects.for_shop(shop).get(pk=audience.pk).is_active is False
    csv = admin.get(f"/admin/audiences/{audience.pk}/export/google.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert b"".join(csv.streaming_content).startswith(b"Email,Phone,First Name,Last Name,Country,Zip")
    assert admin.get(f"/admin/audiences/{audience.pk}/export/myspace.csv").status_code == 404


def test_another_shops_audience_is_a_404(admin, shop, other_shop, meta):
    from backend.audiences.presets import create_from_preset

    theirs = AdConnection.objects.create(shop=other_shop, platform="meta", account_id="1", access_token="t")
    audience = create_from_preset("vip", theirs)
    assert admin.post(f"/admin/audiences/{audience.pk}/", {"action": "run"}).status_code == 404
    assert admin.get(f"/admin/audiences/{audience.pk}/export/meta.csv").status_code == 404
    mine_page = admin.post("/admin/audiences/?lang=en", {"action": "create", "preset": "vip",
                                                         "connection": str(theirs.pk)})
    assert mine_page.status_code == 400 and not Audience.objects.for_shop(shop).exists()
