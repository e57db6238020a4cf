"""The Celery app and every periodic job, in one beat schedule."""
from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")

app = Celery("personalize")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Heals missed webhooks by paging through what changed since each shop's last cursor.
    "reconcile-shops": {
        "task": "integrations.shopify.tasks.reconcile_all_shops",
        "schedule": crontab(minute="*/15"),
    },
    # The same for WooCommerce stores: an incremental sync (modified_after) per connected store.
    "reconcile-woocommerce-shops": {
        "task": "integrations.woocommerce.tasks.reconcile_woocommerce_shops",
        "schedule": crontab(minute="7-59/15"),
    },
}
