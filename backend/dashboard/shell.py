"""The shared frame of every cockpit page: language, navigation, and links that keep the embedded session token.

`shell_context` is a template context processor, so any merchant screen (widgets, segments, popups…) that extends
dashboard/base.html gets the same nav without passing anything.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from backend.core.health import check_cache

from .language import LANGS, asked_lang, page_lang

NAV = (
    ("home", "/admin/", _("Home")), ("widgets", "/admin/widgets/", _("Widgets")),
    ("segments", "/admin/segments/", _("Segments")), ("audiences", "/admin/audiences/", _("Ad audiences")),
    ("popups", "/admin/popups/", _("Popups")), ("recipes", "/admin/recipes/", _("Automations")),
    ("product_rules", "/admin/product-rules/", _("Product rules")),
    ("audience_tags", "/admin/audience-tags/", _("Audience tags")),
    ("experiments", "/admin/experiments/", _("Experiments")), ("analytics", "/admin/analytics/", _("Analytics")),
    ("settings", "/admin/settings/", _("Settings")), ("audit", "/admin/audit/", _("Activity")),
)


def link(request: HttpRequest, path: str, lang: str | None = None, **params: Any) -> str:
    """`path` with the embedded session token (no cookies there) and an explicit language carried along."""
    query = dict(params)
    token = getattr(request, "session_token", "")
    if token:
        query["id_token"] = token
    asked = lang or asked_lang(request)
    if asked in LANGS:
        query["lang"] = asked
    return path + ("?" + urlencode(query) if query else "")


def _active(path: str) -> str:
    hits = [k for k, href, _label in NAV if href != "/admin/" and path.startswith(href)]
    return hits[0] if hits else "home"


def shell_for(request: HttpRequest, lang: str) -> dict[str, Any]:
    active = _active(request.path)
    return {
        "lang": lang, "asked_lang": asked_lang(request), "embedded": bool(getattr(request, "via_token", False)),
        "session_token": getattr(request, "session_token", ""), "api_key": settings.SHOPIFY_API_KEY,
        "nav": [{"key": k, "label": label, "href": link(request, href, lang), "active": k == active}
                for k, href, label in NAV],
        "other_lang_href": link(request, request.path, "en" if lang == "es" else "es"),
        "cache_notice": _cache_notice(),
    }


def _cache_notice() -> str:
    """The merchant should know when the storefront runs degraded (the probe is memoized: no timeout per page)."""
    status = check_cache()
    if status == "ok":
        return ""
    return _("Cache unavailable: %(reason)s. Storefront widgets keep showing what each server holds in memory; other "
             "storefront requests are answered \u201cretry later\u201d until it is back.") % {
        "reason": status.removeprefix("error: ")}


def shell_context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the frame for a signed-in merchant's page (nothing for anyone else)."""
    from .auth import current_shop

    if not request.path.startswith("/admin/"):
        return {}
    shop = getattr(request, "shop", None) or current_shop(request)
    if shop is None:
        return {}
    return {"shell": shell_for(request, page_lang(request, shop))}


def page(request: HttpRequest, template: str, title: str, context: dict | None = None,
         status: int = 200) -> HttpResponse:
    """Render a merchant screen in the frame; the request's language is already active (AdminLanguageMiddleware)."""
    shop = request.shop
    lang = context.get("lang") if context and context.get("lang") else page_lang(request, shop)
    shell = shell_for(request, lang)
    base = {"shop": shop, "lang": lang, "title": title, "shell": shell,
            "embedded": shell["embedded"], "session_token": shell["session_token"]}
    base.update(context or {})
    return render(request, template, base, status=status)
