"""How the widgets and their algorithms read to a merchant, in their language: every admin screen names them here.

Algorithm values are the engines' own (`registry.ALSO_BOUGHT_ALGORITHMS`, bestseller metric_window); each gets a
name and one line saying what it favours, so the widgets screen and the experiments form describe them alike.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .merchandising import algorithm_choices
from .models import CardStyle, Layout, Widget

WIDGET_NAMES = {Widget.ALSO_BOUGHT: _("Customers also bought"), Widget.RECENTLY_VIEWED: _("Continue shopping"),
                Widget.BESTSELLERS: _("Bestsellers"), Widget.FOR_YOU: _("Recommended for you")}
_ALSO_BOUGHT = {
    "bm25": (_("Balanced"), _("Products often bought with this one; rare pairings count more than everyday ones.")),
    "cosine": (_("Similar baskets"), _("Products whose buyers overlap most with this product's buyers.")),
    "lift": (_("Surprising pairs"), _("Pairs bought together far more often than chance would say; favours niche "
                                      "products.")),
    "jaccard": (_("Shared buyers"), _("The share of customers who bought both products; favours popular pairs.")),
}
_METRIC = {"units": _("Most units sold"), "revenue": _("Most revenue")}
_WINDOW = {"24h": _("in the last 24 hours"), "7d": _("in the last 7 days"), "30d": _("in the last 30 days")}
_DEFAULT_LINE = {
    Widget.ALSO_BOUGHT: _("Tested on your own orders every night: the mix of similarity and bestsellers that best "
                          "predicted what your customers bought next."),
    Widget.BESTSELLERS: _("Most units sold in the last 7 days."),
}

# Where and how a widget shows: page types, layouts and card styles, each named (the latter two with one line).
PAGE_LABELS = (("product", _("Product pages")), ("collection", _("Collection pages")),
               ("cart", _("Cart")), ("home", _("Home page")))
LAYOUTS = (
    (Layout.CAROUSEL, _("Carousel"), _("One row that scrolls sideways, with arrows.")),
    (Layout.GRID, _("Grid"), _("As many cards as fit the width, nothing to scroll.")),
)
CARD_STYLES = (
    (CardStyle.STANDARD, _("Standard"), _("Rounded picture, bold price, filled button.")),
    (CardStyle.COMPACT, _("Compact"), _("Narrower cards with taller pictures: more products "
                                                              "in the same space.")),
    (CardStyle.MINIMAL, _("Minimal"), _("Square picture, plain price, outlined button.")),
)


@dataclass(frozen=True)
class Option:
    value: str
    name: Promise | str
    line: Promise | str


def options(widget: str) -> list[Option]:
    """Every algorithm the widget offers, in the order of algorithm_choices, "" (recommended) first."""
    found = []
    for value in algorithm_choices(widget):
        if not value:
            found.append(Option("", _("Recommended"), _DEFAULT_LINE.get(widget, _("The app picks for you."))))
        elif value in _ALSO_BOUGHT:
            found.append(Option(value, *_ALSO_BOUGHT[value]))
        else:
            metric, _sep, window = value.partition("_")
            name = f"{_METRIC.get(metric, metric)} {_WINDOW.get(window, window)}"
            line = (_("Ranks by items sold, so cheap best-sellers lead.") if metric == "units"
                    else _("Ranks by money taken, so pricier products lead."))
            found.append(Option(value, name, line))
    return found


def widget_name(widget: str) -> str:
    return str(WIDGET_NAMES.get(widget, widget))


def algorithm_name(widget: str, value: str) -> str:
    return str(next((o.name for o in options(widget) if o.value == value), value))


def placement_words(value: object) -> str:
    """A saved placement list, or a layout or card style value, as the screen names it (the Activity trail)."""
    names = {k: str(v) for k, v in PAGE_LABELS} | {k: str(v) for k, v, _line in (*LAYOUTS, *CARD_STYLES)}
    if isinstance(value, list):
        return ", ".join(names.get(str(v), str(v)) for v in value)
    return names.get(str(value), str(value))
