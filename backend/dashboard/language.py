"""Which language a merchant page speaks, and Django's translation switched to it for the whole request.

The words themselves live in gettext catalogues (locale/es/LC_MESSAGES/django.po); this module only decides the
language: ?lang= (or the `lang` field a form carries over from such a page), else the merchant's override in
settings, else the shop's own locale.
"""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from backend.core.outage import OUTAGE_ERRORS
from backend.shops.models import Shop

LANGS = ("es", "en")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def asked_lang(request: HttpRequest) -> str:
    """The language this page was explicitly asked in ("" if none): ?lang=, or a posted form's `lang` field, so
    saving a form on a Spanish page answers in Spanish."""
    asked = request.GET.get("lang", "")
    if asked not in LANGS and request.method == "POST" and request.content_type in _FORM_TYPES:
        asked = request.POST.get("lang", "")
    return asked if asked in LANGS else ""


def page_lang(request: HttpRequest, shop: Shop) -> str:
    """?lang= for this page, else the merchant's override in settings, else the shop's locale."""
    from .models import ShopSettings

    asked = asked_lang(request)
    if asked:
        return asked
    remembered = getattr(request, "_shop_lang", None)  # the middleware and the view both ask: one query
    if remembered and remembered[0] == shop.pk:
        return remembered[1]
    override = ShopSettings.of(shop).locale_override
    lang = override if override in LANGS else ("es" if shop.locale.lower().startswith("es") else "en")
    request._shop_lang = (shop.pk, lang)
    return lang


def request_lang(request: HttpRequest) -> str:
    """The language of an admin request, signed in or not (the sign-in page follows ?lang=, else English)."""
    from .auth import current_shop

    shop = current_shop(request)
    return page_lang(request, shop) if shop is not None else (asked_lang(request) or "en")


class AdminLanguageMiddleware:
    """Every merchant screen and admin API renders inside translation.override(its page language), so templates'
    {% translate %} and gettext in views, forms and DRF's messages all speak it; the storefront is untouched."""

    PREFIXES = ("/admin/", "/api/admin/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.PREFIXES):
            return self.get_response(request)
        try:
            lang = request_lang(request)
        except OUTAGE_ERRORS:  # the view meets the outage too and answers it (core/outage.py); only the words wait
            lang = asked_lang(request) or "en"
        with translation.override(lang):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response
