"""The Activity screen reads as sentences in the merchant's language: before → after in words, things by name."""
from __future__ import annotations

import pytest

from backend.dashboard import audit
from tests.dashboard.factories import session_token
from tests.dashboard.test_translations import visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(shop):
    from backend.experiments.models import Experiment
    from backend.popups.models import Campaign

    campaign = Campaign.objects.create(shop=shop, name="Rebajas de invierno")
    exp = Experiment.objects.create(shop=shop, name="Títulos", target_key="also_bought",
                                    arms=[{"key": "control"}, {"key": "b"}])
    audit.record(shop, "shopify:7", "widget_rule.update", "widget:also_bought",
                 {"widget": "also_bought", "enabled": False, "algorithm": "", "pinned_products": [],
                  "algorithm_choices": ["", "bm25"]},
                 {"widget": "also_bought", "enabled": True, "algorithm": "cosine", "pinned_products": ["11", "12"],
                  "algorithm_choices": ["", "bm25"]})
    audit.record(shop, "user:ana@example.com", "popup_campaign.saved", f"popup:{campaign.pk}",
                 {"name": "Rebajas", "mobile_enabled": True}, {"name": "Rebajas de invierno", "mobile_enabled": False})
    audit.record(shop, "user:ana@example.com", "experiment.create", f"experiment:{exp.pk}", None,
                 {"name": "Títulos", "status": "draft", "target": "widget:also_bought",
                  "arms": [{"key": "control", "config": {}}, {"key": "b", "config": {"algorithm": "cosine"}}],
                  "metric": "conversion", "winner": ""})
    audit.record(shop, "user:ana@example.com", "settings.update", "settings",
                 {"locale_override": "", "attribution_window_days": 7},
                 {"locale_override": "es", "attribution_window_days": 14})
    return {"campaign": campaign, "experiment": exp}


def _page(client, shop, lang: str) -> str:
    html = client.get(f"/admin/audit/?lang={lang}&id_token={session_token(shop)}").content.decode()
    return visible_text(html).replace(" :", ":")  # "<b>field</b>: value" reads "field: value"


def test_activity_reads_before_and_after_in_words(client, shop, trail):
    text = _page(client, shop, "en")
    assert "Show this widget: No → Yes" in text
    assert "Algorithm: Recommended → Similar baskets" in text
    assert "Always show these first: — → 11, 12" in text
    assert "Widget “Customers also bought”" in text
    assert "Popup campaign “Rebajas de invierno”" in text and "Show on phones: Yes → No" in text
    assert "Experiment “Títulos”" in text and "Created an experiment" in text
    assert "Test: — → Widget “Customers also bought”" in text and "Variants: — → control, b" in text
    assert "Admin language: — → Español" in text and "Attribution window (days): 7 → 14" in text
    assert "Shopify staff member 7" in text and "ana@example.com" in text
    for raw in ("False", "True", f"popup:{trail['campaign'].pk}", "widget:also_bought", "{", "algorithm_choices",
                "widget_rule.update", "None"):
        assert raw not in text, raw


def test_activity_in_spanish(client, shop, trail):
    text = _page(client, shop, "es")
    assert "Mostrar este widget: No → Sí" in text
    assert "Algoritmo: Recomendado → Cestas parecidas" in text
    assert "Campaña de popup «Rebajas de invierno»" in text and "Cambió un widget" in text
    assert "Miembro del equipo de Shopify 7" in text
