"""Celery tasks of the recipes engine: thin, each loads ids and calls a function tested on its own."""
from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import engine, scheduler, triggers

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_jitter": True, "max_retries": 5}


@shared_task(name="backend.recipes.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    return scheduler.dispatch_due()


@shared_task(name="backend.recipes.tasks.scan_triggers", ignore_result=True)
def scan_triggers() -> int:
    return scheduler.scan_all()


@shared_task(name="backend.recipes.tasks.run_steps", ignore_result=True, **RETRY)
def run_steps(run_ids: list[int]) -> None:
    for run_id in run_ids:
        engine.advance(int(run_id))


@shared_task(name="backend.recipes.tasks.enter_from_events", ignore_result=True, **RETRY)
def enter_from_events_task(shop_id: int, rows: list[list]) -> int:
    return triggers.enter_from_events(shop_id, rows)


@shared_task(name="backend.recipes.tasks.orders_placed", ignore_result=True, **RETRY)
def orders_placed_task(shop_id: int, order_ids: list[int]) -> None:
    from backend.emails.attribution import attribute_orders

    attribute_orders(shop_id, order_ids)
    triggers.enter_from_orders(shop_id, order_ids)
