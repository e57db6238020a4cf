"""Money is a Decimal amount with a currency; never a float."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802 - reads like a field class at call sites
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def to_decimal(value: object, default: Decimal | None = Decimal("0")) -> Decimal | None:
    """Parse a platform money string ("12.50", 12.5, None) into a 2-place Decimal."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return default


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str
