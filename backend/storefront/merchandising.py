"""Write side of the merchandising rules: one DRF serializer validates the JSON API and the admin form alike.

Merchants (and the API) speak the platform's product/collection ids; rows keep our pks. Every id is checked to
belong to the shop; saving drops the shop's cached rules and widget payloads so the storefront shows the change.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from backend.catalog.models import Collection, Product
from backend.shops.models import Shop

from .fields import PLATFORM_ID, plain_id
from .models import MAX_ITEMS, PAGE_TYPES, CardStyle, Layout, Widget, WidgetRule
from .rules import DEFAULT_LIMIT, invalidate

MAX_LISTED = 200  # exclusions/re-buyables per rule: more is a sign the merchant wants a collection rule


def algorithm_choices(widget: str) -> list[str]:
    """The values `algorithm` may take for a widget ("" = the engine's default), as the engines expose them."""
    from backend.recommendations import registry

    if widget == Widget.ALSO_BOUGHT:
        return ["", *registry.ALSO_BOUGHT_ALGORITHMS]
    if widget == Widget.BESTSELLERS:
        return ["", *(f"{m}_{w}" for m in registry.BESTSELLER_METRICS for w in registry.BESTSELLER_WINDOWS)]
    return [""]


class _PlatformIds(serializers.ListField):
    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(
            child=serializers.RegexField(PLATFORM_ID.pattern, max_length=64),
            required=False,
            max_length=kwargs.pop("max_length", MAX_LISTED),
            **kwargs,
        )


class WidgetRuleSerializer(serializers.Serializer):
    widget = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField(required=False, default=True)
    title_en = serializers.CharField(required=False, allow_blank=True, max_length=120, trim_whitespace=True)
    title_es = serializers.CharField(required=False, allow_blank=True, max_length=120, trim_whitespace=True)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ITEMS, default=DEFAULT_LIMIT)
    algorithm = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    excluded_products = _PlatformIds()
    excluded_collections = _PlatformIds()
    pinned_products = _PlatformIds(max_length=MAX_ITEMS)
    rebuyable_products = _PlatformIds()
    min_stock = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000, default=0)
    placements = serializers.MultipleChoiceField(choices=PAGE_TYPES, required=False, allow_empty=True)
    layout = serializers.ChoiceField(choices=Layout.choices, required=False, default=Layout.CAROUSEL)
    card_style = serializers.ChoiceField(choices=CardStyle.choices, required=False, default=CardStyle.STANDARD)

    def __init__(self, *args, shop: Shop, widget: str, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.widget = widget

    def validate_algorithm(self, value: str) -> str:
        choices = algorithm_choices(self.widget)
        if value not in choices:
            raise serializers.ValidationError(_("this widget has no such algorithm; choose one from the list"))
        return value

    def _resolve(self, model: type[Product] | type[Collection], ids: list[str]) -> list[int]:
        wanted = [plain_id(i) for i in dict.fromkeys(ids)]
        found = dict(
            model.objects.for_shop(self.shop).filter(platform_id__in=wanted).values_list("platform_id", "pk")
        )
        missing = [i for i in wanted if i not in found]
        if missing:
            message = (_("no product with these ids in this shop: %(ids)s") if model is Product
                       else _("no collection with these ids in this shop: %(ids)s"))
            raise serializers.ValidationError(message % {"ids": ", ".join(missing[:10])})
        return [found[i] for i in wanted]

    def validate_excluded_products(self, value: list[str]) -> list[int]:
        return self._resolve(Product, value)

    def validate_pinned_products(self, value: list[str]) -> list[int]:
        return self._resolve(Product, value)

    def validate_rebuyable_products(self, value: list[str]) -> list[int]:
        return self._resolve(Product, value)

    def validate_excluded_collections(self, value: list[str]) -> list[int]:
        return self._resolve(Collection, value)

    def validate(self, attrs: dict) -> dict:
        pinned = set(attrs.get("pinned_products", []))
        if pinned & set(attrs.get("excluded_products", [])):
            raise serializers.ValidationError(
                {"pinned_products": _("a product cannot be both shown first and never shown")})
        return attrs

    def save(self, **kwargs) -> WidgetRule:  # noqa: ANN003
        data = self.validated_data
        with transaction.atomic():
            rule = WidgetRule.objects.for_shop(self.shop).select_for_update().filter(widget=self.widget).first()
            rule = rule or WidgetRule(shop=self.shop, widget=self.widget)
            rule.enabled = data.get("enabled", True)
            rule.title_en = data.get("title_en", "")
            rule.title_es = data.get("title_es", "")
            rule.limit = data.get("limit", DEFAULT_LIMIT)
            rule.algorithm = data.get("algorithm", "")
            rule.excluded_product_ids = data.get("excluded_products", [])
            rule.excluded_collection_ids = data.get("excluded_collections", [])
            rule.pinned_product_ids = data.get("pinned_products", [])
            rule.rebuyable_product_ids = data.get("rebuyable_products", [])
            rule.min_stock = data.get("min_stock", 0)
            placed = data.get("placements", PAGE_TYPES)
            rule.placements = [p for p in PAGE_TYPES if p in placed]  # left out: every page, as before placements
            rule.layout = data.get("layout", Layout.CAROUSEL)
            rule.card_style = data.get("card_style", CardStyle.STANDARD)
            rule.updated_at = timezone.now()
            rule.save()
        # Bump now and again once committed: a reader between the two may cache the old row under the first bump.
        invalidate(self.shop.pk)
        transaction.on_commit(lambda: invalidate(self.shop.pk))
        self.instance = rule
        return rule


def rule_as_json(shop: Shop, widget: str) -> dict:
    """A rule (or the defaults) as the API and the admin form show it: platform ids, not pks."""
    rule = WidgetRule.objects.for_shop(shop).filter(widget=widget).first() or WidgetRule(shop=shop, widget=widget)
    wanted = {*rule.excluded_product_ids, *rule.pinned_product_ids, *rule.rebuyable_product_ids}
    products = dict(Product.objects.for_shop(shop).filter(pk__in=wanted).values_list("pk", "platform_id"))
    collections = dict(
        Collection.objects.for_shop(shop).filter(pk__in=rule.excluded_collection_ids).values_list("pk", "platform_id")
    )

    def platform(ids: list, known: dict[int, str]) -> list[str]:
        return [known[i] for i in ids if i in known]  # a deleted product silently leaves the rule

    return {
        "widget": widget,
        "enabled": rule.enabled,
        "title_en": rule.title_en,
        "title_es": rule.title_es,
        "limit": rule.limit,
        "algorithm": rule.algorithm,
        "algorithm_choices": algorithm_choices(widget),
        "excluded_products": platform(rule.excluded_product_ids, products),
        "excluded_collections": platform(rule.excluded_collection_ids, collections),
        "pinned_products": platform(rule.pinned_product_ids, products),
        "rebuyable_products": platform(rule.rebuyable_product_ids, products),
        "min_stock": rule.min_stock,
        "placements": [p for p in PAGE_TYPES if p in (rule.placements or [])],
        "layout": rule.layout,
        "card_style": rule.card_style,
    }
