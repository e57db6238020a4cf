"""Installing a shop: store its (encrypted) tokens, mark it installed, and queue its first sync.

Both Shopify install paths (embedded token exchange, authorization code grant) end here once everything about the
request has been verified, so nothing is written for a refused one.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from .models import Shop, SyncRun

logger = logging.getLogger("personalize.shops.install")


def install_shop(platform: str, domain: str, token: dict[str, Any], *, start_sync: bool = True) -> Shop:
    """Create or re-activate the shop with fresh credentials. A reinstall keeps the shop's data and settings."""
    with transaction.atomic():
        shop, _ = Shop.objects.select_for_update().get_or_create(platform=platform, domain=domain)
        was_active = shop.is_active
        store_token(shop, token, save=False)
        if not was_active:
            shop.mark_installed()
        shop.save()
        needs_sync = start_sync and (not was_active or not has_completed_sync(shop))
        if needs_sync:
            transaction.on_commit(lambda: queue_first_sync(shop))
        transaction.on_commit(lambda: queue_storefront_config(shop))
    return shop


def store_token(shop: Shop, token: dict[str, Any], *, save: bool = True) -> None:
    shop.access_token = token["access_token"]
    shop.access_token_expires_at = _dt(token.get("expires_at"))
    shop.refresh_token = token.get("refresh_token") or ""
    shop.refresh_token_expires_at = _dt(token.get("refresh_expires_at"))
    if token.get("scope"):
        shop.scopes = str(token["scope"])[:1000]
    if save:
        shop.save(update_fields=["access_token", "access_token_expires_at", "refresh_token",
                                 "refresh_token_expires_at", "scopes"])


def has_completed_sync(shop: Shop) -> bool:
    return SyncRun.objects.for_shop(shop).filter(kind="full", status=SyncRun.Status.DONE).exists()


def queue_first_sync(shop: Shop) -> None:
    if shop.platform == Shop.Platform.SHOPIFY:
        from integrations.shopify.sync import start_full_sync

        start_full_sync(shop)


def queue_storefront_config(shop: Shop) -> None:
    """Tell the platform's storefront side our public key (Shopify: an app metafield the app embed reads)."""
    if shop.platform == Shop.Platform.SHOPIFY:
        from integrations.shopify.tasks.sync import publish_storefront_config_task

        try:
            publish_storefront_config_task.delay(shop.pk)
        except Exception:  # noqa: BLE001 - an install must not fail on this; the merchant can re-open the app
            logger.exception("could not publish storefront config for shop=%s", shop.domain)


def _dt(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
