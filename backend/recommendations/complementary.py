"""Merchant-set complementary rules ("jackets -> hats, gloves"): validated on save, mixed into also-bought."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q

from backend.catalog.models import Collection, CollectionMembership, Product
from backend.recommendations.models import ComplementaryRule
from backend.shops.models import Shop

MAX_TARGETS = 50


def save_rule(shop: Shop, *, source_product: int | None = None, source_collection: int | None = None,
              target_products: Iterable[int] = (), target_collections: Iterable[int] = (),
              rule: ComplementaryRule | None = None) -> ComplementaryRule:
    """Create or update a rule after checking every id belongs to this shop; raises ValidationError."""
    tp = list(dict.fromkeys(int(p) for p in target_products))
    tc = list(dict.fromkeys(int(c) for c in target_collections))
    if (source_product is None) == (source_collection is None):
        raise ValidationError("A rule starts from exactly one product or one collection.")
    if not tp and not tc:
        raise ValidationError("A rule needs at least one target product or collection.")
    if len(tp) + len(tc) > MAX_TARGETS:
        raise ValidationError(f"At most {MAX_TARGETS} targets per rule.")
    if source_product is not None and source_product in tp:
        raise ValidationError("A product cannot complement itself.")
    if source_collection is not None and source_collection in tc:
        raise ValidationError("A collection cannot complement itself.")
    products = set(Product.objects.for_shop(shop).filter(pk__in=[*tp, *([source_product] if source_product else [])])
                   .values_list("pk", flat=True))
    collections = set(Collection.objects.for_shop(shop).filter(
        pk__in=[*tc, *([source_collection] if source_collection else [])]).values_list("pk", flat=True))
    unknown = [p for p in [*tp, source_product] if p is not None and p not in products]
    unknown += [c for c in [*tc, source_collection] if c is not None and c not in collections]
    if unknown:
        raise ValidationError(f"Unknown products or collections for this shop: {sorted(unknown)}")
    with transaction.atomic():
        rule = rule or ComplementaryRule(shop=shop)
        if rule.shop_id != shop.pk:
            raise ValidationError("The rule belongs to another shop.")
        rule.source_product_id = source_product
        rule.source_collection_id = source_collection
        rule.full_clean(exclude=["target_products", "target_collections"])
        rule.save()
        rule.target_products.set(tp, through_defaults={"shop": shop})
        rule.target_collections.set(tc, through_defaults={"shop": shop})
    return rule


def complementary_for(shop: Shop, product_id: int, limit: int) -> list[int]:
    """Targets of every enabled rule that starts from this product or one of its collections, products first."""
    collections = list(CollectionMembership.objects.for_shop(shop).filter(product_id=product_id)
                       .values_list("collection_id", flat=True))
    rules = (
        ComplementaryRule.objects.for_shop(shop).filter(enabled=True)
        .filter(Q(source_product_id=product_id) | Q(source_collection_id__in=collections))
        .order_by(F("source_collection_id").asc(nulls_first=True), "pk")  # product rules (no collection) first
        .prefetch_related("target_products", "target_collections")
    )
    out: list[int] = []
    target_collections: list[int] = []
    for rule in rules:
        out += sorted(p.pk for p in rule.target_products.all())
        target_collections += [c.pk for c in rule.target_collections.all()]
    if target_collections and len(out) < limit:
        out += collection_products(shop, target_collections, limit * 2)
    return list(dict.fromkeys(p for p in out if p != product_id))[: limit * 2]


def collection_products(shop: Shop, collection_ids: list[int], n: int) -> list[int]:
    """Products of the target collections, their 30-day bestsellers first, taking turns between collections."""
    from backend.recommendations.bestsellers import top_sellers

    per_collection: list[list[int]] = []
    for cid in dict.fromkeys(collection_ids):
        ranked = top_sellers(shop, "", cid, "units", "30d", n)
        rest = CollectionMembership.objects.for_shop(shop).filter(collection_id=cid).order_by("position", "pk")
        per_collection.append(list(dict.fromkeys([*ranked, *rest.values_list("product_id", flat=True)[:n]])))
    out: list[int] = []
    for i in range(n):
        for lst in per_collection:
            if i < len(lst):
                out.append(lst[i])
    return out
