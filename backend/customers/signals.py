"""Sent after a batch of customers is committed by the upserts (bulk writes send no post_save)."""
from __future__ import annotations

from django.dispatch import Signal

# kwargs: shop_id: int, customer_ids: list[int], bulk: bool
customers_recorded = Signal()
