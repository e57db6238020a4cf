"""Webhook processing tasks (queue: webhooks, routed by name in settings.CELERY_TASK_ROUTES)."""
from __future__ import annotations

from celery import shared_task

__all__ = ["process_webhook"]


@shared_task(
    name="integrations.woocommerce.tasks.process_webhook",
    # Transient failures (database, the store's API when a variation's parent is read) retry with growing,
    # jittered delays; a malformed body is marked failed inside process_delivery and never raises.
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def process_webhook(delivery_id: int) -> str:
    from integrations.woocommerce.webhooks import process_delivery

    return process_delivery(delivery_id)
