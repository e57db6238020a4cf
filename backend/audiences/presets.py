"""The audiences a merchant starts from. Each is an ordinary audience afterwards (name, rule, purpose editable)."""
from __future__ import annotations

from dataclasses import dataclass

from backend.segments.models import Segment
from backend.segments.presets import ensure_presets

from .models import AdConnection, Audience


@dataclass(frozen=True)
class AudiencePreset:
    en: str
    es: str
    purpose: str
    activity: str = ""
    days: int = 7
    buyers: bool = False
    segment_preset: str = ""  # a segments.presets key: the audience follows that segment
    recipes: bool = False  # fed by automations: recipe steps add and remove people


PRESETS: dict[str, AudiencePreset] = {
    "viewed-not-bought-2d": AudiencePreset("Viewed a product, did not buy (2 days)",
                                           "Vieron un producto y no compraron (2 días)", "target",
                                           activity=Audience.Activity.PRODUCT_VIEWED, days=2),
    "viewed-not-bought-7d": AudiencePreset("Viewed a product, did not buy (7 days)",
                                           "Vieron un producto y no compraron (7 días)", "target",
                                           activity=Audience.Activity.PRODUCT_VIEWED, days=7),
    "viewed-not-bought-14d": AudiencePreset("Viewed a product, did not buy (14 days)",
                                            "Vieron un producto y no compraron (14 días)", "target",
                                            activity=Audience.Activity.PRODUCT_VIEWED, days=14),
    "cart-abandoners-7d": AudiencePreset("Added to cart, did not buy (7 days)",
                                         "Añadieron al carrito y no compraron (7 días)", "target",
                                         activity=Audience.Activity.ADDED_TO_CART, days=7),
    "recent-buyers-30d": AudiencePreset("Recent buyers (30 days) — exclude", "Compradores recientes (30 días): excluir",
                                        "exclude", buyers=True, days=30),
    "vip": AudiencePreset("VIP customers", "Clientes VIP", "target", segment_preset="vip"),
    "lapsed": AudiencePreset("Lapsed customers", "Clientes inactivos", "target", segment_preset="lapsed"),
    "from-automations": AudiencePreset("Added by automations", "Añadidos por automatizaciones", "target",
                                       recipes=True),
}


def preset_name(key: str, lang: str) -> str:
    preset = PRESETS[key]
    return preset.es if lang.startswith("es") else preset.en


def display_name(audience: Audience, lang: str) -> str:
    """A preset audience still named as created reads in the page's language; a renamed one keeps its name."""
    preset = PRESETS.get(audience.preset)
    if preset and audience.name in (preset.en, preset.es):
        return preset.es if lang.startswith("es") else preset.en
    return audience.name


def create_from_preset(key: str, connection: AdConnection, lang: str = "en") -> Audience:
    """A new audience from a preset, for one destination (raises KeyError for an unknown preset)."""
    preset = PRESETS[key]
    shop_id = connection.shop_id
    audience = Audience(shop_id=shop_id, name=preset_name(key, lang), preset=key, purpose=preset.purpose,
                        connection=connection, days=preset.days)
    if preset.segment_preset:
        ensure_presets(shop_id)
        audience.source = Audience.Source.SEGMENT
        audience.segment = Segment.objects.for_shop(shop_id).get(preset=preset.segment_preset)
    elif preset.recipes:
        audience.source = Audience.Source.RECIPES
    else:
        audience.source = Audience.Source.RECENCY
        audience.activity = preset.activity
        audience.buyers = preset.buyers
    audience.save()
    return audience
