"""`{% admin_link "/admin/segments/" segment.pk "/" %}` (the parts are joined): a merchant screen's URL that keeps
the embedded session token and the page's language, for links written in templates (the shell's nav uses
shell.link the same way)."""
from __future__ import annotations

from typing import Any

from django import template

from backend.dashboard.shell import link

register = template.Library()


@register.simple_tag(takes_context=True)
def admin_link(context: template.Context, *parts: Any, **params: Any) -> str:
    path = "".join(str(p) for p in parts)
    request = context.get("request")
    lang = context.get("lang") or None
    if request is None:  # rendered outside a request (an email, a test of the template alone)
        return path
    return link(request, path, lang if lang in ("es", "en") else None, **params)
