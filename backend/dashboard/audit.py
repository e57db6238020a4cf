"""The audit trail: every merchant change, recorded through this one function."""
from __future__ import annotations

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest

from backend.shops.models import Shop

from .models import AuditEntry

logger = logging.getLogger("personalize.dashboard")
MAX_VALUE_BYTES = 32 * 1024


def _jsonable(value: Any) -> Any:
    """Decimals, dates and the like as JSON; an oversized value is cut rather than refused (the change happened)."""
    if value is None:
        return None
    text = json.dumps(value, cls=DjangoJSONEncoder, default=str)
    if len(text) > MAX_VALUE_BYTES:
        return {"truncated": text[:MAX_VALUE_BYTES]}
    return json.loads(text)


def record(shop: Shop | int, actor: str | HttpRequest, action: str, target: str, before: Any, after: Any) -> AuditEntry:
    """Write who (actor, or the request it came with) did what (action on target), and the value before → after."""
    if isinstance(actor, HttpRequest):
        actor = str(getattr(actor, "merchant_actor", "") or "unknown")
    shop_id = shop if isinstance(shop, int) else shop.pk
    entry = AuditEntry.objects.create(
        shop_id=shop_id, actor=str(actor)[:255], action=action[:60], target=str(target)[:255],
        before=_jsonable(before), after=_jsonable(after),
    )
    logger.info("audit shop=%s actor=%s action=%s target=%s", shop_id, actor, action, target)
    return entry

