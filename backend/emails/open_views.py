"""The open-time blocks' public endpoints (see openblocks.py): per-customer JSON feed for ESPs, slot images, slot
clicks. Keys and tokens are checked before anything else; a bad one is a 400/403 with a reason, never a 500."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_GET

from backend.customers.identities import normalise_email
from backend.customers.models import CustomerProfile, Identity
from backend.shops.models import Shop

from . import links, openblocks


def _shop(public_key: str) -> Shop | None:
    return Shop.objects.filter(public_key=public_key[:40], state=Shop.State.INSTALLED).first()


def _profile_for_token(shop: Shop, raw: str) -> CustomerProfile | None:
    found = openblocks.read_token(raw)
    if found is None or found[0] != shop.pk:
        return None
    return CustomerProfile.objects.for_shop(shop).filter(pk=found[1], is_active=True).first()


@require_GET
def feed(request: HttpRequest, public_key: str) -> HttpResponse:
    shop = _shop(public_key)
    if shop is None or not openblocks.feed_key_ok(shop, request.GET.get("key", "")):
        return JsonResponse({"error": "unknown shop or wrong feed key"}, status=403)
    email = normalise_email(request.GET.get("email", ""))
    if not email:
        return JsonResponse({"error": "email is required"}, status=400)
    row = Identity.objects.for_shop(shop).filter(kind=Identity.Kind.EMAIL, value=email).select_related(
        "profile").first()
    profile = row.profile if row is not None else CustomerProfile.objects.for_shop(shop).filter(
        email=email, is_active=True).first()
    if profile is None:
        return JsonResponse({"products": []})
    _lang, items = openblocks.picks(shop, profile)
    products = [{"title": item.title, "price": item.price, **openblocks.slot_urls(shop, profile, n)}
                for n, item in enumerate(items)]
    return JsonResponse({"products": products}, headers={"Cache-Control": "private, no-store"})


@require_GET
def slot_image(request: HttpRequest, public_key: str, slot: int) -> HttpResponse:
    shop = _shop(public_key)
    profile = _profile_for_token(shop, request.GET.get("t", "")) if shop is not None else None
    if profile is None or not 0 <= slot < openblocks.SLOTS:
        return HttpResponseBadRequest("This image link is not valid.", content_type="text/plain")
    return HttpResponse(openblocks.slot_image(shop, profile, slot), content_type="image/png",
                        headers={"Cache-Control": f"private, max-age={openblocks.CARD_TTL}"})


@require_GET
def slot_click(request: HttpRequest, public_key: str, slot: int) -> HttpResponse:
    shop = _shop(public_key)
    profile = _profile_for_token(shop, request.GET.get("t", "")) if shop is not None else None
    if profile is None or not 0 <= slot < openblocks.SLOTS:
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    _lang, items = openblocks.picks(shop, profile)
    url = items[slot].url if slot < len(items) else f"https://{shop.domain}/"
    return HttpResponseRedirect(links.with_utm(url, "esp-block", f"slot-{slot + 1}"))
