"""Every admin screen in Spanish shows no English: walked through its own navigation, embedded (session token) and
standalone (signed-in session), including the pages a form answers with after a save or a refused value.

The detector knows English by the catalogue itself: a word that appears in some English msgid and in no Spanish
msgstr (and is not a word of the shop's own data) is English. So it catches a msgid rendered untranslated, and also
English typed into a template by hand as long as it uses the catalogue's vocabulary ("Done", "Save", "Orders"...).
"""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.utils import timezone

from backend.experiments.models import Experiment
from backend.segments.models import Segment
from tests.dashboard.factories import member, product, session_token

pytestmark = pytest.mark.django_db

PO = Path(__file__).resolve().parents[2] / "locale" / "es" / "LC_MESSAGES" / "django.po"
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_VOID = ("input", "img", "meta", "br", "hr", "link", "source")
_ADDRESS = re.compile(r"@|://|\w\.\w")


def _catalogue():
    with PO.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def _forms(text: str | tuple) -> tuple:
    """A message's texts: one, or singular and plural."""
    return text if isinstance(text, tuple) else (text,)


def english_words() -> set[str]:
    """Words of the English msgids that no Spanish msgstr uses (so "Widgets", "CSV", "Email" don't count)."""
    spanish: set[str] = set()
    english: set[str] = set()
    for m in _catalogue():
        for text in _forms(m.id):
            english.update(w.lower() for w in _WORD.findall(_PLACEHOLDER.sub(" ", text)))
        for text in _forms(m.string):
            spanish.update(w.lower() for w in _WORD.findall(_PLACEHOLDER.sub(" ", text)))
    return {w for w in english - spanish if len(w) > 2}


class _Visible(HTMLParser):
    """The text a merchant reads: text nodes outside script/style, plus labels read aloud or shown in fields."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        # Scripts and styles are not read; an element marked lang="en" (the "English" switch) is English on purpose.
        # <code> and <textarea> hold keys and JSON a merchant types, in no language.
        english = tag != "html" and dict(attrs).get("lang") == "en"
        if self._skipping or (english and tag in _VOID):
            return
        if tag in ("script", "style", "code", "textarea") or english:
            self._skip += 1
            self._skipping.append(tag)
            return
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") in ("submit", "button"):
                self.parts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_in(html: str, words: set[str], data_words: set[str]) -> list[str]:
    # Addresses (emails, domains, URLs) are data, not words: "ana@example.com" says nothing about the language.
    text = " ".join(chunk for chunk in visible_text(html).split() if not _ADDRESS.search(chunk))
    found = {w for w in _WORD.findall(text) if w.lower() in words and w.lower() not in data_words}
    return sorted(found)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        # Links, and the frames a screen shows (the widgets' live previews are part of that screen).
        found = dict(attrs)
        href = (found.get("href") if tag == "a" else found.get("src") or found.get("data-src")) or ""
        if tag in ("a", "iframe") and href.startswith("/admin/"):
            self.hrefs.append(href.replace("&amp;", "&"))


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


@pytest.fixture
def stocked(shop):
    """A shop with something on every screen: a finished sync, a product, a segment, experiments (draft and
    running), a popup campaign (asking for an email, so the preview shows the consent line too)."""
    from backend.shops.models import SyncRun

    SyncRun.objects.create(shop=shop, status=SyncRun.Status.DONE, rows_done=10, rows_total=10,
                           finished_at=timezone.now())
    taza = product(shop, title="Taza")
    # Set up and selling: Home shows its scoreboard, Analytics its charts.
    from backend.dashboard.rollups import rollup_shop
    from backend.events.models import EventType
    from tests.dashboard.factories import click, event, order

    event(shop, EventType.WIDGET_IMPRESSION, "v1", timezone.now() - timedelta(hours=3))
    click(shop, "v1", taza, timezone.now() - timedelta(hours=2))
    order(shop, "v1", [taza], timezone.now() - timedelta(hours=1))
    rollup_shop(shop)
    Segment.objects.create(shop=shop, slug="compradores", name="Compradores",
                           rules={"all": [{"field": "orders_count", "op": "gte", "value": 1}]})
    Experiment.objects.create(shop=shop, name="Prueba de títulos", target_key="also_bought",
                              arms=[{"key": "control", "weight": 1, "config": {}},
                                    {"key": "coseno", "weight": 1, "config": {"algorithm": "cosine"}}])
    Experiment.objects.create(shop=shop, name="Prueba en curso", target_key="bestsellers", status="running",
                              started_at=timezone.now(),
                              arms=[{"key": "control", "weight": 1, "config": {}},
                                    {"key": "apagado", "weight": 1, "config": {"enabled": False}}])
    from backend.dashboard import audit
    from tests.popups.factories import make_campaign

    make_campaign(shop, name="Regalo de salida", email_capture=True)
    from backend.recipes.presets import enable_preset

    for preset in ("abandoned-cart", "first-order-anniversary"):  # the builder, with and without a date trigger
        recipe, _ = enable_preset(shop, preset)
    recipe.conditions = {"all": [{"field": "orders_count", "op": "gte", "value": 1}]}
    recipe.save()
    audit.record(shop, "shopify:7", "widget_rule.update", "widget:bestsellers",
                 {"widget": "bestsellers", "enabled": True, "algorithm": "units_7d", "min_stock": 0},
                 {"widget": "bestsellers", "enabled": False, "algorithm": "revenue_30d", "min_stock": 2})
    audit.record(shop, "user:ana@example.com", "settings.update", "settings",
                 {"locale_override": "", "attribution_window_days": 7},
                 {"locale_override": "es", "attribution_window_days": 14})
    return shop


def _data_words(shop) -> set[str]:
    """The shop's own data is whatever language the merchant wrote it in: its words never count as ours."""
    return {w.lower() for w in _WORD.findall(f"{shop.domain} {shop.name} Personalize")}


def _walk(get, start: str, with_lang) -> dict[str, str]:
    """Every admin page reachable from `start` through the pages' own links (one level of sub-pages deep)."""
    seen: dict[str, str] = {}
    queue = [start]
    while queue and len(seen) < 40:
        url = queue.pop(0)
        path = url.split("?")[0]
        if path in seen or path.endswith((".json", "/logout/")) or "format=csv" in url:
            continue
        response = get(with_lang(url))
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        seen[path] = html
        queue.extend(links(html))
    return seen


def _embedded(client, shop):
    token = session_token(shop)

    def with_lang(url: str) -> str:
        url = re.sub(r"([?&])lang=\w+", r"\1", url)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}lang=es" + ("" if "id_token=" in url else f"&id_token={token}")

    return client.get, with_lang


def _standalone(client, shop):
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})

    def with_lang(url: str) -> str:
        url = re.sub(r"([?&])lang=\w+", r"\1", url)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}lang=es"

    return client.get, with_lang


def test_catalogue_is_complete_and_its_placeholders_match():
    for m in _catalogue():
        assert all(_forms(m.string)), f"no Spanish for {m.id!r}"
        assert "fuzzy" not in m.flags, m.id
        wanted = sorted(_PLACEHOLDER.findall(_forms(m.id)[-1]))
        for text in _forms(m.string):
            assert sorted(_PLACEHOLDER.findall(text)) == wanted, m.id


@pytest.mark.parametrize("mode", ["embedded", "standalone"])
def test_every_admin_screen_in_spanish_shows_no_english(client, stocked, mode):
    words = english_words()
    get, with_lang = (_embedded if mode == "embedded" else _standalone)(client, stocked)
    pages = _walk(get, "/admin/", with_lang)
    # Pages a button leads to rather than a link: the confirmations before stopping and before promoting.
    running = Experiment.objects.for_shop(stocked).get(status="running").pk
    for extra in (f"/admin/experiments/{running}/?confirm=stop",
                  f"/admin/experiments/{running}/?confirm=promote&arm=apagado"):
        response = get(with_lang(extra))
        assert response.status_code == 200 and "confirm-" in response.content.decode()
        pages[extra] = response.content.decode()
    # The walk really went everywhere the nav goes, and into the sub-screens.
    for path in ("/admin/", "/admin/widgets/", "/admin/segments/", "/admin/experiments/", "/admin/analytics/",
                 "/admin/settings/", "/admin/audit/", "/admin/segments/new/", "/admin/customers/merges/",
                 "/admin/popups/", "/admin/popups/new/"):
        assert path in pages, f"{path} not reached from the navigation"
    assert sum(p.startswith("/admin/experiments/") for p in pages) >= 3  # list + draft + running detail
    assert sum(p.startswith("/admin/popups/") for p in pages) >= 3  # list + new + the campaign's editor
    assert sum(p.startswith("/admin/recipes/") for p in pages) >= 3  # list + each recipe's builder
    assert "/admin/recipes/new/" in pages  # a recipe from scratch
    assert sum(p.startswith("/admin/widgets/preview/") for p in pages) == 3  # each storefront widget's preview
    data = _data_words(stocked)
    leaks = {path: english_in(html, words, data) for path, html in pages.items()}
    assert {p: w for p, w in leaks.items() if w} == {}


def test_pages_a_form_answers_with_stay_spanish(client, stocked):
    """After a save or a refused value the page keeps the language the merchant was reading (no ?lang= in the
    form's action: the form carries it), and the refusal names the field in words."""
    words, data = english_words(), _data_words(stocked)
    token = session_token(stocked)
    saved = client.post("/admin/widgets/", {"id_token": token, "lang": "es", "widget": "bestsellers",
                                            "bestsellers-enabled": "on", "bestsellers-limit": "4",
                                            "bestsellers-min_stock": "0"})
    assert saved.status_code == 302 and "lang=es" in saved["Location"]
    after = client.get(saved["Location"]).content.decode()
    assert "Guardado" in after and english_in(after, words, data) == []

    refused = client.post("/admin/widgets/", {"id_token": session_token(stocked), "lang": "es",
                                              "widget": "also_bought", "also_bought-limit": "999",
                                              "also_bought-pinned_products": "nope!"}).content.decode()
    text = visible_text(refused)
    assert "pinned_products" not in text and "limit:" not in text
    assert "Mostrar siempre primero" in text and "Número de productos" in text
    assert english_in(refused, words, data) == []

    settings = client.post("/admin/settings/", {"id_token": session_token(stocked), "lang": "es",
                                                "attribution_window_days": "500", "data_retention_days": "5",
                                                "currency_override": "euros"}).content.decode()
    text = visible_text(settings)
    assert "attribution_window_days" not in text and "Ventana de atribución" in text
    assert english_in(settings, words, data) == []

    segment = client.post("/admin/segments/new/", {
        "id_token": session_token(stocked), "lang": "es", "name": "Malos",
        "rules": '{"all": [{"field": "orders_count", "op": "gte", "value": 1}, '
                 '{"field": "orders_count", "op": "gte", "value": "x"}]}'}).content.decode()
    text = visible_text(segment)
    assert "all[1]" not in text and "Condición 2, valor" in text
    assert english_in(segment, words, data) == []

    from backend.recipes.models import Recipe

    recipe = Recipe.objects.for_shop(stocked).get(key="abandoned-cart")
    refused = client.post(f"/admin/recipes/{recipe.pk}/", {
        "id_token": session_token(stocked), "lang": "es", "cooldown_hours": "x",
        "conditions": '{"all": [{"field": "orders_count", "op": "gte", "value": "x"}]}',
        "step_wait": ["1", ""], "step_unit": ["hours", "days"], "step_action": ["email", "webhook"],
        "step_template": ["cart", ""], "step_url": ["", "ftp://x"], "step_campaign": ["", ""],
        "step_tiers": ["", ""]})
    assert refused.status_code == 400
    text = visible_text(refused.content.decode())
    assert "all[0]" not in text and "Condiciones: Condición 1, valor" in text and "Paso 2:" in text
    assert english_in(refused.content.decode(), words, data) == []
    new = client.post("/admin/recipes/new/", {"id_token": session_token(stocked), "lang": "es", "trigger": "x",
                                              "name": ""})
    text = visible_text(new.content.decode())
    assert new.status_code == 400 and "Ponle un nombre" in text and "Elige qué inicia" in text
    assert english_in(new.content.decode(), words, data) == []

    from tests.popups.factories import COPY

    popup = client.post("/admin/popups/new/", {
        "id_token": session_token(stocked), "lang": "es", "name": "Malo", "status": "active",
        "offer_rules": "tier:vip = muchísimo", "default_offer": "gratis", "min_seconds": "9999",
        **{f"copy_{lang}_{key}": text for lang, texts in COPY.items() for key, text in texts.items()},
        "copy_es_cta": "", "email_capture": "on", "code_mode": "shared", "shared_code": "a b"})
    assert popup.status_code == 200
    text = visible_text(popup.content.decode())
    assert "offer_rules" not in text and "default_offer" not in text and "copy.es" not in text
    assert "Regla de oferta 1: escríbela" in text and "Botón (Español): este texto es obligatorio." in text
    assert english_in(popup.content.decode(), words, data) == []
    # The popup preview the editor fetches as the merchant types speaks the page's language too.
    preview = client.post("/admin/popups/preview/?lang=es", {
        "id_token": session_token(stocked), "offer_rules": "visitors:new = free_shipping", "email_capture": "on",
        **{f"copy_{lang}_{key}": text for lang, texts in COPY.items() for key, text in texts.items()}})
    assert "Visitante nuevo" in preview.content.decode()
    assert english_in(preview.content.decode(), words, data) == []


def test_the_detector_catches_an_untranslated_string(client, stocked):
    """The same walk in English finds plenty, and one translation dropped from the catalogue is caught."""
    from django.utils import translation
    from django.utils.translation import trans_real

    words, data = english_words(), _data_words(stocked)
    token = session_token(stocked)
    english = client.get(f"/admin/?lang=en&id_token={token}").content.decode()
    assert len(english_in(english, words, data)) > 5

    with translation.override("es"):
        catalog = trans_real.translation("es")._catalog
    saved = catalog["Catalog sync"]
    catalog["Catalog sync"] = "Catalog sync"  # as if the msgstr had been removed
    try:
        spanish = client.get(f"/admin/?lang=es&id_token={session_token(stocked)}").content.decode()
    finally:
        catalog["Catalog sync"] = saved
    assert english_in(spanish, words, data) == ["Catalog", "sync"]


def test_login_page_in_spanish(client):
    page = client.get("/admin/login/?lang=es").content.decode()
    assert "Contraseña" in page and english_in(page, english_words(), set()) == []
