"""Webhook processing tasks (queue: webhooks, routed by name in settings.CELERY_TASK_ROUTES)."""
from __future__ import annotations

from celery import shared_task

__all__ = ["process_webhook", "process_webhook_backlog"]


@shared_task(
    name="integrations.shopify.tasks.process_webhook",
    # Transient failures (database, broker, Shopify for bulk results) retry with growing, jittered delays; a
    # malformed body is marked failed inside process_delivery and never raises, so it is not retried.
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def process_webhook(delivery_id: int) -> str:
    from integrations.shopify.webhooks import process_delivery

    return process_delivery(delivery_id)


@shared_task(name="integrations.shopify.tasks.process_webhook_backlog", acks_late=True)
def process_webhook_backlog() -> int:
    """Beat: re-queue deliveries that were recorded but never applied, so a lost queue message loses no data."""
    from integrations.shopify.webhooks import stale_deliveries

    ids = stale_deliveries()
    for delivery_id in ids:
        process_webhook.delay(delivery_id)
    return len(ids)
