"""The segments every shop starts with. Their rules are ordinary rule trees a merchant can read and copy."""
from __future__ import annotations

from dataclasses import dataclass

from backend.shops.models import Shop

from .models import Segment
from .rules import validate


@dataclass(frozen=True)
class Preset:
    en: str
    es: str
    rule: dict


PRESETS: dict[str, Preset] = {
    "new-visitors": Preset("New visitors", "Visitantes nuevos", {"all": [
        {"field": "sessions_count", "op": "lte", "value": 1},
        {"field": "orders_count", "op": "eq", "value": 0},
    ]}),
    "returning-visitors": Preset("Returning visitors", "Visitantes recurrentes", {"any": [
        {"field": "sessions_count", "op": "gte", "value": 2},
        {"field": "orders_count", "op": "gte", "value": 1},
    ]}),
    "first-time-buyers": Preset("First-time buyers", "Compradores primerizos",
                                {"field": "orders_count", "op": "eq", "value": 1}),
    "repeat-buyers": Preset("Repeat buyers", "Compradores recurrentes",
                            {"field": "orders_count", "op": "gte", "value": 2}),
    # VIP = the shop's top share by predicted value (SegmentSettings.vip_top_percent, 10 % by default).
    "vip": Preset("VIP", "VIP", {"field": "value_tier", "op": "eq", "value": "vip"}),
    "at-risk": Preset("At risk", "En riesgo", {"all": [
        {"field": "orders_count", "op": "gte", "value": 2},
        {"field": "days_since_last_order", "op": "between", "value": [60, 180]},
    ]}),
    "lapsed": Preset("Lapsed", "Inactivos", {"all": [
        {"field": "orders_count", "op": "gte", "value": 1},
        {"field": "days_since_last_order", "op": "gt", "value": 180},
    ]}),
    "cart-abandoners": Preset("Cart abandoners", "Carritos abandonados",
                              {"field": "cart_abandoned", "op": "is", "value": True}),
}

for _key, _preset in PRESETS.items():
    validate(_preset.rule)


def ensure_presets(shop: Shop | int) -> list[Segment]:
    """Create the preset segments a shop lacks (idempotent); merchants may edit or deactivate them afterwards."""
    shop_id = shop if isinstance(shop, int) else shop.pk
    existing = set(Segment.objects.for_shop(shop_id).values_list("slug", flat=True))
    created = [
        Segment(shop_id=shop_id, slug=key, name=preset.en, rules=preset.rule, preset=key)
        for key, preset in PRESETS.items() if key not in existing
    ]
    if created:
        Segment.objects.bulk_create(created, ignore_conflicts=True)
    return list(Segment.objects.for_shop(shop_id).filter(preset__in=list(PRESETS)))


def display_name(segment: Segment, lang: str = "en") -> str:
    preset = PRESETS.get(segment.preset)
    if preset and segment.name == preset.en:
        return preset.es if lang.startswith("es") else preset.en
    return segment.name
