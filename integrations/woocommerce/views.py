"""The merchant's side of connecting a WooCommerce store, and the endpoints the store and its plugin call.

- GET/POST /woocommerce/connect        the store-address form; POST sends the browser to the store's wc-auth page
- POST     /woocommerce/callback       the store delivers the API keys here (server to server)
- GET      /woocommerce/return         where the store sends the merchant back after approving (or denying)
- GET      /woocommerce/shops/<id>/    connection status and sync progress (the browser that connected it)
- POST     /woocommerce/shops/<id>/disconnect
- POST     /woocommerce/plugin/config, /woocommerce/plugin/disconnect, /woocommerce/plugin/redact-customer
                                       signed requests from the WordPress plugin
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from backend.core.rejections import reject
from backend.shops.models import Shop, SyncRun

from . import auth
from .models import ConnectRequest, WooStore, token_digest

logger = logging.getLogger("personalize.woocommerce.views")

SESSION_SHOPS = "woocommerce_shop_ids"
MAX_CALLBACK_BYTES = 16 * 1024


@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest) -> HttpResponse:
    error = ""
    store_url = request.POST.get("store_url") if request.method == "POST" else request.GET.get("store_url", "")
    store_url = (store_url or "")[:300]
    if request.method == "POST":
        try:
            normalized = auth.normalize_store_url(store_url)
        except ValueError as exc:
            error = str(exc)
        else:
            if not request.session.session_key:
                request.session.save()
            return redirect(auth.begin_connect(normalized, request.session.session_key or ""))
    return render(request, "woocommerce/connect.html", {"store_url": store_url, "error": error},
                  status=400 if error else 200)


@csrf_exempt
@require_POST
def callback(request: HttpRequest) -> JsonResponse:
    raw = request.read(MAX_CALLBACK_BYTES + 1)
    if len(raw) > MAX_CALLBACK_BYTES:
        reject("woocommerce_callback", "body too large")
        return JsonResponse({"status": "rejected", "reason": "body too large"}, status=413)
    try:
        shop = auth.accept_keys(raw)
    except auth.ConnectRefused as exc:
        reject("woocommerce_callback", str(exc))
        # WooCommerce shows the merchant an error and deletes the key when the callback is not answered 200.
        return JsonResponse({"status": "rejected", "reason": str(exc)}, status=400)
    return JsonResponse({"status": "connected", "shop": shop.domain})


def connect_return(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("user_id", "")[:64]
    pending = ConnectRequest.objects.filter(token_digest=token_digest(token)).first() if token else None
    if pending is None:
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "unknown"}, status=400)
    if request.GET.get("success") != "1":
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "denied",
                                                            "store_url": pending.store_url})
    if pending.shop_id is None:
        # The store sends the merchant here only after our callback answered 200, so this is a stale or forged link.
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "incomplete"}, status=400)
    if pending.session_key and pending.session_key == request.session.session_key:
        shops = set(request.session.get(SESSION_SHOPS, []))
        shops.add(pending.shop_id)
        request.session[SESSION_SHOPS] = sorted(shops)
        return redirect("woocommerce-status", shop_id=pending.shop_id)
    # Another browser (the link was shared): say it worked, show nothing of the shop.
    return render(request, "woocommerce/result.html", {"ok": True, "store_url": pending.store_url})


def _session_shop(request: HttpRequest, shop_id: int) -> Shop | None:
    if shop_id not in request.session.get(SESSION_SHOPS, []):
        return None
    return Shop.objects.filter(pk=shop_id, platform=Shop.Platform.WOOCOMMERCE).first()


def status(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = _session_shop(request, shop_id)
    if shop is None:
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "forbidden"}, status=403)
    store = WooStore.objects.for_shop(shop).first()
    run = SyncRun.objects.for_shop(shop).order_by("-started_at").first()
    return render(request, "woocommerce/status.html", {"shop": shop, "store": store, "run": run})


@require_POST
def disconnect_view(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = _session_shop(request, shop_id)
    if shop is None:
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "forbidden"}, status=403)
    auth.disconnect(shop, erase_data=request.POST.get("erase_data") == "1")
    if request.POST.get("erase_data") == "1":
        request.session[SESSION_SHOPS] = [s for s in request.session.get(SESSION_SHOPS, []) if s != shop_id]
        return render(request, "woocommerce/result.html", {"ok": False, "reason": "erased"})
    return redirect("woocommerce-status", shop_id=shop_id)


def _plugin_request(request: HttpRequest) -> tuple[Shop, dict] | JsonResponse:
    raw = request.read(MAX_CALLBACK_BYTES + 1)
    if len(raw) > MAX_CALLBACK_BYTES:
        return JsonResponse({"status": "rejected", "reason": "body too large"}, status=413)
    try:
        return auth.verify_plugin_request(raw, request.headers.get("X-Personalize-Signature", ""),
                                          request.headers.get("X-Personalize-Store", "")[:300])
    except auth.NotConnected as exc:
        reject("woocommerce_plugin", str(exc))
        # 410, not 401: the plugin tells "we forgot this store" (it then deletes our old keys) from a bad signature.
        # Only a request signed with the ended connection's secret gets it: strangers all hear the same 401.
        return JsonResponse({"status": "disconnected", "reason": str(exc)}, status=410)
    except auth.ConnectRefused as exc:
        reject("woocommerce_plugin", str(exc))
        return JsonResponse({"status": "rejected", "reason": str(exc)}, status=401)


PLUGIN_SEEN_EVERY = timedelta(minutes=10)


def plugin_seen(shop: Shop, store: WooStore) -> None:
    """Note that the plugin is live on the store. It asks every minute or so: one write per ten minutes is plenty."""
    now = timezone.now()
    if store.plugin_seen_at is None or now - store.plugin_seen_at >= PLUGIN_SEEN_EVERY:
        WooStore.objects.for_shop(shop).filter(pk=store.pk).update(plugin_seen_at=now)


@csrf_exempt
@require_POST
def plugin_config(request: HttpRequest) -> JsonResponse:
    """What the plugin needs to render the storefront script tag."""
    verified = _plugin_request(request)
    if isinstance(verified, JsonResponse):
        return verified
    shop, _ = verified
    from backend.demostore.assets import loader_path
    from backend.popups.gate import page_gate
    from backend.storefront.access import _customer_key

    store = WooStore.objects.for_shop(shop).first()
    if store is not None:
        plugin_seen(shop, store)
    gate = page_gate(shop.pk)
    return JsonResponse({
        "connected": shop.state == Shop.State.INSTALLED,
        "shop": shop.domain,
        "public_key": shop.public_key,
        "locale": shop.locale,
        "currency": shop.currency,
        # The built storefront script as the app serves it (a module: cross-origin use needs CORS on that route).
        # Its hashed name (cached a year, immutable): a new build is a new URL the plugin gets within its config TTL.
        "script_url": auth.app_url(loader_path()),
        "api_url": auth.app_url("/api/storefront"),
        "status_url": auth.app_url(reverse("woocommerce-connect")),
        # The plugin signs the logged-in customer's id with it (data-customer-sig); pages never see the key.
        "customer_signing_key": _customer_key(shop.pk).hex(),
        # Whether the storefront should load the exit-intent popup chunk at all (a campaign is running), and what
        # the page checks itself first (schedule, cart, caps...: backend/popups/gate.py).
        "popups": bool(gate),
        "popup_gate": gate,
        # The REST key we use: the plugin deletes any other key of ours (left by an earlier connection).
        "key_id": int(store.key_id) if store is not None and store.key_id.isdecimal() else None,
    })


@csrf_exempt
@require_POST
def plugin_disconnect(request: HttpRequest) -> JsonResponse:
    """The plugin was deactivated (or the merchant pressed Disconnect in WordPress)."""
    verified = _plugin_request(request)
    if isinstance(verified, JsonResponse):
        return verified
    shop, data = verified
    erase = data.get("erase_data") is True
    auth.disconnect(shop, erase_data=erase)
    return JsonResponse({"status": "erased" if erase else "disconnected"})


@csrf_exempt
@require_POST
def plugin_redact_customer(request: HttpRequest) -> JsonResponse:
    """WordPress's "Erase Personal Data" tool ran for a customer: remove what we hold about them too."""
    verified = _plugin_request(request)
    if isinstance(verified, JsonResponse):
        return verified
    shop, data = verified
    email = str(data.get("email") or "").strip().lower()
    customer_id = str(data.get("customer_id") or "").strip()
    if len(email) > 320 or "@" not in email or (customer_id and not customer_id.isdecimal()) or len(customer_id) > 20:
        reject("woocommerce_plugin", "malformed erasure request", shop.domain)
        return JsonResponse({"status": "rejected", "reason": "email and numeric customer_id expected"}, status=400)
    from backend.shops.redaction import CustomerRef, redact_customer

    redact_customer(shop, CustomerRef(platform_id=customer_id, email=email))
    return JsonResponse({"status": "redacted"})
