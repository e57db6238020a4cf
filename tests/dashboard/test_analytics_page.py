"""Analytics says "nothing yet" in words instead of charting zeros, labels follow the chosen period, and the CSV
speaks the merchant's language."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from backend.dashboard.rollups import rollup_shop
from tests.dashboard.factories import click, now, order, product, session_token
from tests.dashboard.test_translations import visible_text

pytestmark = pytest.mark.django_db


def _get(client, shop, query: str):
    return client.get(f"/admin/analytics/?id_token={session_token(shop)}&{query}")


def test_an_empty_period_is_said_in_words_not_charted(client, shop):
    rollup_shop(shop)
    html = _get(client, shop, "days=7&lang=en").content.decode()
    assert "<svg" not in html  # no flat line on a "1" axis, no bars of zeros
    text = visible_text(html)
    assert "No sale came through a widget or popup in the last 7 days." in text
    assert "No widget or popup was shown to shoppers in this period." in text
    assert "No customer value predicted yet" in text


def test_labels_follow_the_chosen_period(client, shop):
    mug = product(shop)
    t = now()
    click(shop, "v1", mug, t - timedelta(hours=2))
    order(shop, "v1", [mug], t - timedelta(hours=1))
    rollup_shop(shop)
    week = visible_text(_get(client, shop, "days=7&lang=en").content.decode())
    assert "Attributed revenue per day, last 7 days (click-through)" in week
    assert "Attributed revenue by source, last 7 days" in week and "last 30 days (click" not in week
    html = _get(client, shop, "days=90&lang=es").content.decode()
    assert "Ingresos atribuidos por día, últimos 90 días (clic)" in visible_text(html) and "<svg" in html


def test_csv_headers_in_the_merchants_language(client, shop):
    mug = product(shop)
    t = now()
    click(shop, "v1", mug, t - timedelta(hours=2))
    order(shop, "v1", [mug], t - timedelta(hours=1))
    rollup_shop(shop)
    rows = list(csv.reader(io.StringIO(_get(client, shop, "format=csv&lang=es").content.decode())))
    assert rows[0][:4] == ["Día", "Tipo", "Origen", "Impresiones"] and "Ingresos (netos)" in rows[0]
    assert rows[1][1:3] == ["Widget", "Los clientes también compraron"]
    english = list(csv.reader(io.StringIO(_get(client, shop, "format=csv&lang=en").content.decode())))
    assert english[0][:4] == ["Day", "Kind", "Source", "Impressions"]
