"""Public email endpoints: the signed click redirect and the unsubscribe page (no sign-in; the token is the key).

A token is verified before anything is read; a bad one is a 400 with a reason, never a 500.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from backend.recipes.models import Recipe
from backend.shops.models import Shop

from . import consent, links
from .models import EmailClick, EmailSend

MAX_TOKEN = 2048


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    data = links.read_click(token[:MAX_TOKEN])
    if data is None:
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    send = EmailSend.all_shops.filter(pk=data["s"]).select_related("recipe").first()
    url = data["u"]
    if send is None or not url.startswith(("https://", "http://")):
        return HttpResponseBadRequest("This link is no longer valid.", content_type="text/plain")
    recipe: Recipe | None = send.recipe
    if request.method == "GET" and not send.is_test:
        product = data.get("p") if isinstance(data.get("p"), int) else None
        EmailClick.objects.create(shop_id=send.shop_id, send=send, url=url[:1024], product_id=product,
                                  clicked_at=timezone.now())
    campaign = f"recipe-{recipe.key}" if recipe is not None else "recipe-test"
    return HttpResponseRedirect(links.with_utm(url, campaign, f"step-{send.step + 1}"))


@csrf_exempt  # the signed token is the authority; RFC 8058 one-click POSTs come from mail providers, cookieless
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = links.read_unsubscribe(token[:MAX_TOKEN])
    if found is None:
        return HttpResponseBadRequest("This unsubscribe link is not valid.", content_type="text/plain")
    shop_id, email = found
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return HttpResponseBadRequest("This shop is gone.", content_type="text/plain")
    lang = request.GET.get("lang") if request.GET.get("lang") in ("en", "es") else _email_language(shop_id, email)
    with translation.override(lang):
        if request.method == "POST":
            # Both the page's button and a mail client's one-click ("List-Unsubscribe=One-Click") end here.
            consent.suppress(shop_id, email, "unsubscribed")
            return render(request, "emails/unsubscribe.html", {"shop_name": shop.name or shop.domain,
                                                                "done": True, "lang": lang})
        return render(request, "emails/unsubscribe.html", {
            "shop_name": shop.name or shop.domain, "done": consent.is_suppressed(shop_id, email), "lang": lang,
            "email": email, "action": request.path})


def _email_language(shop_id: int, email: str) -> str:
    """The language of the last email sent to this address (what the shopper just read)."""
    lang = EmailSend.objects.for_shop(shop_id).filter(to_email=email).order_by("-pk").values_list(
        "language", flat=True).first()
    return lang if lang in ("en", "es") else "en"
