"""The widgets screen names each algorithm in words with a line saying what it favours, shows each widget's default
title where the merchant would type one, and keeps the page's language through a save."""
from __future__ import annotations

import re

import pytest

from tests.dashboard.factories import session_token
from tests.dashboard.test_translations import visible_text

pytestmark = pytest.mark.django_db


def test_algorithms_read_as_words_with_one_line_each(client, shop):
    html = client.get(f"/admin/widgets/?lang=en&id_token={session_token(shop)}").content.decode()
    text = visible_text(html)
    for raw in ("bm25", "cosine", "jaccard", "units_24h", "revenue_30d"):
        assert raw not in text, raw
    line = "Products whose buyers overlap most with this product&#x27;s buyers."
    assert f"<dt>Similar baskets</dt><dd>{line}</dd>" in html
    assert "Most revenue in the last 30 days" in text
    # The values posted stay the engines' own.
    assert '<option value="cosine"' in html and '<option value="units_7d"' in html
    es = visible_text(client.get(f"/admin/widgets/?lang=es&id_token={session_token(shop)}").content.decode())
    assert "Cestas parecidas" in es and "Más ingresos en los últimos 30 días" in es


def test_title_fields_show_the_default_title(client, shop):
    html = client.get(f"/admin/widgets/?lang=es&id_token={session_token(shop)}").content.decode()
    field = re.search(r'<input[^>]*name="also_bought-title_es"[^>]*>', html).group(0)
    assert 'placeholder="Los clientes también compraron"' in field
    field = re.search(r'<input[^>]*name="bestsellers-title_en"[^>]*>', html).group(0)
    assert 'placeholder="Bestsellers"' in field


def test_a_form_on_a_spanish_page_carries_the_language(client, shop):
    html = client.get(f"/admin/widgets/?lang=es&id_token={session_token(shop)}").content.decode()
    form = html.split('id="form-bestsellers"')[1].split("</form>")[0]
    assert '<input type="hidden" name="lang" value="es">' in form


def test_the_screen_scripts_run_once_after_the_page_and_never_in_its_title(client, shop):
    """The browser tab reads the screen's name (not script source), and the picker and preview scripts are on the
    page once, after the pickers and frames they drive."""
    html = client.get(f"/admin/widgets/?lang=es&id_token={session_token(shop)}").content.decode()
    title = html[html.index("<title>") + 7:html.index("</title>")]
    assert title.startswith("Widgets de la tienda") and "<" not in title, title[:80]
    assert html.count("Pickers by title: an ARIA") == 1 and html.count("Live previews: each widget") == 1
    assert html.index('data-picker') < html.index("Pickers by title: an ARIA")
