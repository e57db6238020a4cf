"""Shop scoping: every row belongs to one shop and every query names it.

Models inherit `ShopScoped`; their default manager only hands out querysets through `for_shop(shop)`, so an
unscoped `Model.objects.filter(...)` fails loudly instead of leaking another shop's rows. Code that truly spans
shops (GDPR redaction, scheduled jobs) uses the explicit `all_shops` manager, which is easy to grep for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from backend.shops.models import Shop


class UnscopedQueryError(RuntimeError):
    """Raised when a shop-owned model is queried without naming the shop."""


class ShopScopedQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop | int) -> ShopScopedQuerySet:
        shop_id = shop if isinstance(shop, int) else shop.pk
        if not shop_id:
            raise UnscopedQueryError("for_shop() needs a saved shop")
        return self.filter(shop_id=shop_id)


class ShopScopedManager(models.Manager.from_queryset(ShopScopedQuerySet)):  # type: ignore[misc]
    """Default manager: `Model.objects.for_shop(shop)` is the only way in."""

    def for_shop(self, shop: Shop | int) -> ShopScopedQuerySet:
        return super().get_queryset().for_shop(shop)

    def get_queryset(self) -> ShopScopedQuerySet:
        # A related manager (order.line_items) hangs off a row that already belongs to one shop: it is scoped.
        if getattr(self, "instance", None) is not None:
            return super().get_queryset()
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects needs .for_shop(shop); use .all_shops only for cross-shop jobs"
        )

    def create(self, **kwargs: Any) -> Any:
        if not (kwargs.get("shop") or kwargs.get("shop_id")):
            raise UnscopedQueryError(f"{self.model.__name__} must be created with a shop")
        obj = self.model(**kwargs)
        obj.save(force_insert=True, using=self.db)
        return obj

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        if any(not o.shop_id for o in objs):
            raise UnscopedQueryError(f"every {self.model.__name__} in bulk_create needs a shop")
        return models.QuerySet(self.model, using=self.db).bulk_create(objs, *args, **kwargs)


class ShopScoped(models.Model):
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")

    objects = ShopScopedManager()
    all_shops = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_shops"
