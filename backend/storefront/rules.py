"""Read side of the merchandising rules: a frozen snapshot other rooms (the engines, the widget API) consume.

Snapshots are cached per shop × widget; saving a rule bumps the shop's widget-cache version, so both the rule
and every cached widget payload built with the old rule are replaced at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from django.core.cache import cache

from backend.core.outage import Unavailable
from backend.shops.models import Shop

from . import hotcache
from .models import MAX_ITEMS, PAGE_TYPES, CardStyle, Layout, Widget, WidgetRule

DEFAULT_TITLES: dict[str, dict[str, str]] = {
    Widget.ALSO_BOUGHT: {"en": "Customers also bought", "es": "Los clientes también compraron"},
    Widget.RECENTLY_VIEWED: {"en": "Continue shopping", "es": "Sigue comprando"},
    Widget.BESTSELLERS: {"en": "Bestsellers", "es": "Los más vendidos"},
    Widget.FOR_YOU: {"en": "Recommended for you", "es": "Recomendado para ti"},
}
DEFAULT_LIMIT = 8
_RULE_TTL = 300


@dataclass(frozen=True)
class WidgetRuleData:
    shop_id: int
    widget: str
    enabled: bool = True
    title_en: str = ""
    title_es: str = ""
    limit: int = DEFAULT_LIMIT
    algorithm: str = ""
    excluded_product_ids: frozenset[int] = field(default_factory=frozenset)
    excluded_collection_ids: frozenset[int] = field(default_factory=frozenset)
    pinned_product_ids: tuple[int, ...] = ()
    rebuyable_product_ids: frozenset[int] = field(default_factory=frozenset)
    min_stock: int = 0
    # Plain (not factory) defaults: a snapshot pickled before these fields existed still reads them.
    placements: frozenset[str] = frozenset(PAGE_TYPES)
    layout: str = Layout.CAROUSEL.value
    card_style: str = CardStyle.STANDARD.value

    def shown_on(self, page: str) -> bool:
        """Whether the merchant placed the widget on this page type ("" = the page did not say: shown)."""
        return not page or page in self.placements

    def title(self, locale: str) -> str:
        """The merchant's title in locale, else the other language's, else our default."""
        own = self.title_es if locale == "es" else self.title_en
        if own:
            return own
        default = DEFAULT_TITLES.get(self.widget, {}).get(locale) or ""
        return default or self.title_en or self.title_es


def _ints(values: object) -> list[int]:
    return [v for v in values if isinstance(v, int)] if isinstance(values, list) else []


def snapshot(rule: WidgetRule) -> WidgetRuleData:
    return WidgetRuleData(
        shop_id=rule.shop_id,
        widget=rule.widget,
        enabled=rule.enabled,
        title_en=rule.title_en,
        title_es=rule.title_es,
        limit=max(1, min(MAX_ITEMS, rule.limit)),
        algorithm=rule.algorithm,
        excluded_product_ids=frozenset(_ints(rule.excluded_product_ids)),
        excluded_collection_ids=frozenset(_ints(rule.excluded_collection_ids)),
        pinned_product_ids=tuple(dict.fromkeys(_ints(rule.pinned_product_ids))),
        rebuyable_product_ids=frozenset(_ints(rule.rebuyable_product_ids)),
        min_stock=rule.min_stock,
        placements=frozenset(p for p in rule.placements if p in PAGE_TYPES)
        if isinstance(rule.placements, list) else frozenset(PAGE_TYPES),
        layout=rule.layout if rule.layout in Layout.values else Layout.CAROUSEL.value,
        card_style=rule.card_style if rule.card_style in CardStyle.values else CardStyle.STANDARD.value,
    )


def cache_version(shop_id: int) -> int:
    """Current widget-cache generation of the shop; every cached rule and payload is tied to one."""
    local = hotcache.versions.get(str(shop_id))
    if local is not None:
        return local
    try:
        version = hotcache.shared_get(f"storefront:ver:{shop_id}")
    except Unavailable:
        # The shared cache is down: the version this worker last saw keeps its payloads servable (a rule saved
        # meanwhile shows once the cache is back). Never saw one: nothing to serve, the caller answers 503.
        held = hotcache.versions.held(str(shop_id))
        if held is None:
            raise
        return held
    if version is None:
        version = _fresh_generation()
        hotcache.shared_add(f"storefront:ver:{shop_id}", version, None)
        version = hotcache.shared_get(f"storefront:ver:{shop_id}") or version  # another worker's add won
    hotcache.versions.set(str(shop_id), int(version), hotcache.VERSION_TTL)
    return int(version)


def invalidate(shop_id: int) -> None:
    """Retire every cached rule and widget payload of the shop (other workers follow within VERSION_TTL)."""
    key = f"storefront:ver:{shop_id}"
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, _fresh_generation(), timeout=None)
    hotcache.versions.delete(str(shop_id))


def _fresh_generation() -> int:
    """A generation for a shop whose counter is gone (Redis restarted or flushed: it keeps nothing on disk).
    Microseconds since the epoch: never one that a worker's memory could still hold rules or payloads for, as a
    restart from 1 or 2 would be."""
    return time.time_ns() // 1000


def rule_for(shop: Shop | int, widget: str, version: int | None = None) -> WidgetRuleData:
    """The shop's rule for `widget`, or the defaults when the merchant never saved one."""
    shop_id = shop if isinstance(shop, int) else shop.pk
    version = cache_version(shop_id) if version is None else version
    key = f"storefront:rule:{shop_id}:{widget}:{version}"
    data = hotcache.rules.get(key)
    if data is None:
        try:
            data = hotcache.shared_get(key)
        except Unavailable:
            data = hotcache.rules.held(key)  # the cache is down: the rule as last seen, else the database's
    if data is None:
        rule = WidgetRule.objects.for_shop(shop_id).filter(widget=widget).first()
        data = snapshot(rule) if rule else WidgetRuleData(shop_id=shop_id, widget=widget)
        hotcache.shared_set(key, data, _RULE_TTL)
    hotcache.rules.set(key, data, _RULE_TTL)
    return data


def with_arm(rule: WidgetRuleData, config: dict) -> WidgetRuleData:
    """The rule as an experiment arm shows it: only algorithm, on/off and titles may be overridden."""
    changes: dict = {}
    if isinstance(config.get("algorithm"), str):
        changes["algorithm"] = config["algorithm"][:40]
    if isinstance(config.get("enabled"), bool):
        changes["enabled"] = config["enabled"]
    for name in ("title_en", "title_es"):
        if isinstance(config.get(name), str) and config[name]:
            changes[name] = config[name][:120]
    return replace(rule, **changes) if changes else rule
