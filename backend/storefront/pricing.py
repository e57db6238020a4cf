"""Prices as shoppers read them: the shop's currency in the widget's language (Babel's CLDR data)."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

# A language without a region in the shop's settings gets the region whose conventions most shops expect.
_DEFAULT_REGION = {"es": "ES", "en": "US"}


@lru_cache(maxsize=256)
def babel_locale(language: str, shop_locale: str = "") -> Locale:
    """es/en plus the shop's region when it names one for that language ("es-MX" keeps Mexican conventions)."""
    region = _DEFAULT_REGION.get(language, "")
    parts = shop_locale.replace("_", "-").split("-")
    if len(parts) >= 2 and parts[0].lower() == language and parts[1].isalpha():
        region = parts[1].upper()
    try:
        return Locale.parse(f"{language}_{region}" if region else language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


def format_price(amount: Decimal, currency: str, language: str, shop_locale: str = "") -> str:
    try:
        return format_currency(amount, currency, locale=babel_locale(language, shop_locale))
    except (ValueError, KeyError):  # a currency code CLDR doesn't know: still show the number
        return f"{amount} {currency}"
