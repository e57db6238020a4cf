"""Bounces and complaints the email service reports (django-anymail's tracking webhooks) suppress the address.

Each message carries its shop and send in anymail metadata, which ESPs echo back in their events; an event without
it (an older message, an ESP that drops metadata) suppresses the address in every shop that mailed it.
"""
from __future__ import annotations

import logging

from .consent import suppress
from .models import EmailSend

logger = logging.getLogger("personalize.emails")

SUPPRESSING = {"bounced": "bounced", "complained": "complained", "unsubscribed": "unsubscribed",
               "rejected": "bounced"}


def on_tracking(sender: object, event: object, esp_name: str = "", **kwargs: object) -> None:
    reason = SUPPRESSING.get(getattr(event, "event_type", "") or "")
    recipient = getattr(event, "recipient", "") or ""
    if reason is None or not recipient:
        return
    metadata = getattr(event, "metadata", None) or {}
    shop = str(metadata.get("shop", "")) if isinstance(metadata, dict) else ""
    shops = [int(shop)] if shop.isdigit() else list(
        EmailSend.all_shops.filter(to_email=recipient.lower()).values_list("shop_id", flat=True).distinct())
    for shop_id in shops:
        suppress(shop_id, recipient, reason)
    logger.info("%s reported %s for an address in %s shop(s)", esp_name or "email service", reason, len(shops))
