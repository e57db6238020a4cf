"""The Celery app and every periodic job, in one beat schedule."""
from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

from .env import env_bool

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")

app = Celery("personalize")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The fixed clock this app started with: every job fans out over every installed shop. With PERIODIC_BY_NEED off
# (the many-shop bench's "before") it is the schedule; otherwise the by-need ticks below replace its per-shop jobs.
FIXED_CLOCK = {
    # Heals missed webhooks by paging through what changed since each shop's last cursor.
    "reconcile-shops": {
        "task": "integrations.shopify.tasks.reconcile_all_shops",
        "schedule": crontab(minute="*/15"),
    },
    # Webhook deliveries recorded but never applied (broker was down when they arrived): queue them again.
    "webhook-backlog": {
        "task": "integrations.shopify.tasks.process_webhook_backlog",
        "schedule": crontab(minute="*/5"),
    },
    # The same for WooCommerce stores: an incremental sync (modified_after) per connected store.
    "reconcile-woocommerce-shops": {
        "task": "integrations.woocommerce.tasks.reconcile_woocommerce_shops",
        "schedule": crontab(minute="7-59/15"),
    },
    # Segments: orders written in bulk (sync, no post_save) reach their customers' profiles within a minute.
    "segments-catch-up-orders": {
        "task": "backend.segments.tasks.catch_up_all_shops",
        "schedule": crontab(),
    },
    # Segments: re-run every rule over the shop so time-based conditions ("no order in 60 days") stay right.
    "segments-full-pass": {
        "task": "backend.segments.tasks.full_pass_all_shops",
        "schedule": crontab(minute="3-59/10"),
    },
    # Segments: rebuild profiles, refit BG/NBD + Gamma-Gamma per shop and rescore every profile, nightly.
    "segments-refit-clv": {
        "task": "backend.segments.tasks.refit_all_shops",
        "schedule": crontab(hour=3, minute=17),
    },
    # Recommendations: full also-bought recompute + bestseller counter rebuild per shop (orders update both live).
    "recommendations-recompute": {
        "task": "backend.recommendations.tasks.recompute_all_shops",
        "schedule": crontab(hour=2, minute=41),
    },
    # Popups: top up each campaign's discount code pools (the popup API also queues this when a pool runs low).
    "popups-refill-code-pools": {
        "task": "backend.popups.tasks.refill_all_pools",
        "schedule": crontab(minute="*/10"),
    },
    # Popups: codes redeemed by orders that arrived in bulk (sync, no post_save) are marked used.
    "popups-match-redemptions": {
        "task": "backend.popups.tasks.match_recent_redemptions",
        "schedule": crontab(minute="*/5"),
    },
    # Ad audiences: every audience whose next run is due (its refresh interval, hourly by default, or the moment a
    # recency member's time is up) sends its destination the difference since its last run.
    "audiences-run-due": {
        "task": "backend.audiences.tasks.run_due_audiences",
        "schedule": crontab(minute="*/5"),
    },
    # Recipes: hand due steps to workers (runs are rows with a next due time, never long broker countdowns).
    "recipes-dispatch-due": {
        "task": "backend.recipes.tasks.dispatch_due",
        "schedule": 60.0,
    },
    # Recipes: scanned triggers (days since the last order reached, segment entered) since each recipe's cursor.
    "recipes-scan-triggers": {
        "task": "backend.recipes.tasks.scan_triggers",
        "schedule": crontab(minute="*/10"),
    },
    # Events: partitions created months ahead, expired ones dropped, shorter shop retentions trimmed (daily).
    "events-maintain": {
        "task": "backend.events.tasks.maintain_events",
        "schedule": crontab(hour=1, minute=11),
    },
    # Dashboard: daily analytics rollups (recomputes the attribution window's days so late orders count).
    "dashboard-rollups": {
        "task": "backend.dashboard.tasks.rollup_all_shops",
        "schedule": crontab(minute=23),
    },
}

# Shared by both schedules: already cross-shop and by need (only pending deliveries, only active code campaigns).
SHARED = ("webhook-backlog", "popups-refill-code-pools", "popups-match-redemptions", "events-maintain",
          "audiences-run-due", "recipes-dispatch-due", "recipes-scan-triggers")

BY_NEED = {
    # Segments' catch-up for shops with bulk writes, and reconciliation for shops whose next moment came (backing
    # off while a shop's webhooks are healthy and quiet, never beyond backend.upkeep.tasks.RECONCILE_MAX_SECONDS).
    "upkeep-minute": {"task": "backend.upkeep.tasks.tick_minute", "schedule": crontab()},
    # Profiles whose time-based segment conditions came due; rollups of shops with new events/orders, at their slot.
    "upkeep-five-minutes": {"task": "backend.upkeep.tasks.tick_five_minutes", "schedule": crontab(minute="*/5")},
    # CLV refits where enough new orders arrived; recommendation rebuilds where any did, each at the shop's slot.
    "upkeep-hour": {"task": "backend.upkeep.tasks.tick_hour", "schedule": crontab(minute=1)},
}


def beat_schedule(by_need: bool) -> dict:
    if not by_need:
        return dict(FIXED_CLOCK)
    return {**{k: v for k, v in FIXED_CLOCK.items() if k in SHARED}, **BY_NEED}


app.conf.beat_schedule = beat_schedule(env_bool("PERIODIC_BY_NEED", True))  # the same switch as settings'
