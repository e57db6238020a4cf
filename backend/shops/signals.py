"""Lifecycle signals of a shop's data: followers (engines, segments) recompute once a full sync lands."""
from __future__ import annotations

from django.dispatch import Signal

# kwargs: shop_id: int, kind: str ("full" | "incremental")
sync_finished = Signal()
