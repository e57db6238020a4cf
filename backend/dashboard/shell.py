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

from backend.core.health import check_cache

from .text import LANGS, page_lang, text

NAV = (
    ("home", "/admin/"), ("widgets", "/admin/widgets/"), ("segments", "/admin/segments/"),
    ("popups", "/admin/popups/"), ("experiments", "/admin/experiments/"), ("analytics", "/admin/analytics/"),
    ("settings", "/admin/settings/"), ("audit", "/admin/audit/"),
)


def link(request: HttpRequest, path: str, lang: str | None = None, **params: Any) -> str:
    """`path` with the embedded session token (no cookies there) and an explicit language carried along."""
    query = dict(params)
    token = getattr(request, "session_token", "")
    if token:
        query["id_token"] = token
    asked = lang or request.GET.get("lang", "")
    if asked in LANGS:
        query["lang"] = asked
    return path + ("?" + urlencode(query) if query else "")


def _active(path: str) -> str:
    hits = [k for k, href in NAV if href != "/admin/" and path.startswith(href)]
    return hits[0] if hits else "home"


def shell_for(request: HttpRequest, lang: str) -> dict[str, Any]:
    t = text(lang)
    active = _active(request.path)
    return {
        "t": t, "lang": lang, "embedded": bool(getattr(request, "via_token", False)),
        "session_token": getattr(request, "session_token", ""), "api_key": settings.SHOPIFY_API_KEY,
        "nav": [{"key": k, "label": t[f"nav_{k}"], "href": link(request, href, lang), "active": k == active}
                for k, href in NAV],
        "other_lang_href": link(request, request.path, "en" if lang == "es" else "es"),
        "cache_notice": _cache_notice(t),
    }


def _cache_notice(t: dict[str, str]) -> str:
    """The merchant should know when the storefront runs degraded (the probe is memoized: no timeout per page)."""
    status = check_cache()
    return "" if status == "ok" else t["cache_down"].format(reason=status.removeprefix("error: "))


def shell_context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the frame for a signed-in merchant's page (nothing for anyone else)."""
    from .auth import current_shop

    if not request.path.startswith("/admin/"):
        return {}
    shop = getattr(request, "shop", None) or current_shop(request)
    if shop is None:
        return {}
    asked = request.GET.get("lang", "")
    lang = asked if asked in LANGS else page_lang(request, shop)
    return {"shell": shell_for(request, lang)}


def page(request: HttpRequest, template: str, active: str, title_key: str, context: dict | None = None,
         status: int = 200) -> HttpResponse:
    shop = request.shop
    lang = context.get("lang") if context and context.get("lang") else page_lang(request, shop)
    shell = shell_for(request, lang)
    base = {"shop": shop, "lang": lang, "t": shell["t"], "title": shell["t"][title_key], "shell": shell,
            "embedded": shell["embedded"], "session_token": shell["session_token"]}
    base.update(context or {})
    return render(request, template, base, status=status)
