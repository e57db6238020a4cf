"""What the storefront script leaves on a cart so the order itself says where it came from.

Shopify keeps cart attributes and line item properties on the order; names starting with "_" stay hidden from the
shopper at checkout. WooCommerce gets the same keys as order meta from our plugin.
"""
from __future__ import annotations

from collections.abc import Iterable

VISITOR_ATTRIBUTE = "_personalize_visitor"  # cart attribute: the anonymous visitor id
WIDGET_PROPERTY = "_personalize_widget"  # line item property: the widget the product was added from


def _lookup(pairs: Iterable, name: str) -> str:
    for pair in pairs or ():
        if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] == name:
            return str(pair[1])[:64]
    return ""


def visitor_id_of(note_attributes: Iterable) -> str:
    return _lookup(note_attributes, VISITOR_ATTRIBUTE)


def widget_of(properties: Iterable) -> str:
    return _lookup(properties, WIDGET_PROPERTY)
