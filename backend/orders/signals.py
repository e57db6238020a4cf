"""Domain signals the order upserts send, so engines learn from orders written in bulk (no post_save there).

`orders_recorded` fires after a batch is committed. A small batch is a webhook (real time: followers update at
once); a large one is a sync, whose followers catch up when `backend.shops.signals.sync_finished` fires.
"""
from __future__ import annotations

from django.dispatch import Signal

REALTIME_BATCH_MAX = 50

# kwargs: shop_id: int, order_ids: list[int], customer_ids: list[int], bulk: bool
orders_recorded = Signal()
