"""Home's checklist for a WooCommerce merchant follows what really happened: the store connected (wc-auth), the
plugin live on the store (it fetched its configuration, signed), the widgets placed, a widget live. In es and en."""
from __future__ import annotations

import json
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from backend.events.models import EventType
from integrations.woocommerce.auth import plugin_signature
from integrations.woocommerce.models import WooStore
from tests.dashboard.factories import event, member
from tests.dashboard.test_translations import visible_text

pytestmark = pytest.mark.django_db


def steps(client, lang: str) -> dict[str, bool]:
    html = client.get(f"/admin/?lang={lang}").content.decode()
    rows = re.findall(r'<tr data-step="(\w+)">(.*?)</tr>', html, re.S)
    return {key: 'class="badge ok"' in row for key, row in rows}


def ask_config(client, shop, standin) -> None:
    shop.refresh_from_db()
    raw = json.dumps({"store_url": standin.url, "timestamp": int(time.time())}).encode()
    response = client.post(reverse("woocommerce-plugin-config"), raw, content_type="application/json",
                           HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(shop.refresh_token, raw))
    assert response.status_code == 200


def test_the_checklist_follows_the_store_connection_the_plugin_and_the_widgets(client, woo_shop, standin):
    member(woo_shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert steps(client, "en") == {"step_connect": True, "step_plugin": False, "step_blocks": False,
                                   "step_live": False}
    text = visible_text(client.get("/admin/?lang=en").content.decode())
    assert "then press Connect under WooCommerce → Personalize" in text
    assert "press Check connection under WooCommerce → Personalize" in text
    assert "app embed" not in text and "theme editor" not in text.lower()

    ask_config(client, woo_shop, standin)  # the plugin, on the store's next page view
    seen = WooStore.objects.for_shop(woo_shop).get().plugin_seen_at
    assert seen is not None
    assert steps(client, "es") == {"step_connect": True, "step_plugin": True, "step_blocks": False,
                                   "step_live": False}
    ask_config(client, woo_shop, standin)
    assert WooStore.objects.for_shop(woo_shop).get().plugin_seen_at == seen, "one write per ten minutes"

    event(woo_shop, EventType.WIDGET_IMPRESSION, "v1", timezone.now())  # a shopper saw a widget the plugin placed
    assert all(steps(client, "en").values())
    text = visible_text(client.get("/admin/?lang=es").content.decode())
    assert "Instala y activa el plugin Personalize en WordPress" in text


def test_a_store_not_connected_yet_starts_with_the_plugin(client):
    from backend.shops.models import Shop
    from tests.factories import make_shop

    shop = make_shop("tienda.example.com", platform=Shop.Platform.WOOCOMMERCE)  # signed up, no wc-auth yet
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert steps(client, "en") == {"step_connect": False, "step_plugin": False, "step_blocks": False,
                                   "step_live": False}
