"""The "call my URL" action: a signed JSON body POSTed to the merchant's own endpoint.

Signature: `X-Personalize-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the recipe's
secret>`, so the receiver can check it came from us and refuse replays older than a few minutes. Delivery is at
least once (a timeout may hide a success): `Idempotency-Key` is the same on every attempt of one step, for the
receiver to deduplicate. Only public https addresses are called (no SSRF into our own network), except loopback
when RECIPES_ALLOW_LOOPBACK_WEBHOOKS is set (tests, demo).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from backend.catalog.models import Product
from backend.customers.models import Customer, CustomerProfile
from backend.emails.blocks import customer_ids
from backend.orders.models import Order
from integrations.base.http import build_client

from .models import Recipe, RecipeRun

TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)


class WebhookRefused(Exception):
    """The URL may not be called (not https, not public)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_url(url: str) -> None:
    """Refuse anything but https to a public host (http and loopback only when allowed for tests and the demo)."""
    parts = urlsplit(url)
    loopback_ok = getattr(settings, "RECIPES_ALLOW_LOOPBACK_WEBHOOKS", False)
    if parts.scheme != "https" and not (loopback_ok and parts.scheme == "http"):
        raise WebhookRefused("the address must start with https://")
    host = parts.hostname or ""
    if not host:
        raise WebhookRefused("the address has no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except socket.gaierror as exc:
        raise WebhookRefused("the host does not resolve") from exc
    for raw in addresses:
        ip = ipaddress.ip_address(raw.split("%")[0])
        if ip.is_loopback and loopback_ok:
            continue
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise WebhookRefused("the host is not a public address")


def payload(recipe: Recipe, run: RecipeRun, profile: CustomerProfile) -> dict:
    customers = customer_ids(profile)
    products = list(Product.objects.for_shop(run.shop_id).filter(pk__in=run.context.get("products", []))
                    .values_list("platform_id", flat=True))
    order = Order.objects.for_shop(run.shop_id).filter(pk=run.context.get("order") or 0).values_list(
        "platform_id", flat=True).first()
    return {
        "event": "recipe.step", "recipe": recipe.key, "step": run.step + 1, "run": run.pk,
        "trigger": recipe.trigger, "started_at": run.started_at, "sent_at": timezone.now(),
        "customer": {"email": profile.email, "platform_ids": list(Customer.objects.for_shop(run.shop_id).filter(
            pk__in=customers).values_list("platform_id", flat=True)), "value_tier": profile.value_tier},
        "products": products, "order": order,
    }


def call(recipe: Recipe, run: RecipeRun, step: dict, profile: CustomerProfile, domain: str = "",
         client: httpx.Client | None = None) -> int:
    """POST the signed body once; the HTTP status (raises WebhookRefused, or httpx errors on transport failure)."""
    url = str(step.get("url", ""))
    check_url(url)
    body = json.dumps(payload(recipe, run, profile), cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Personalize-Signature": sign(recipe.webhook_secret,
                                                                                     int(time.time()), body),
               "Idempotency-Key": f"recipe-run-{run.pk}-step-{run.step}", "X-Personalize-Shop": domain}
    own = client is None
    client = client or build_client(timeout=TIMEOUT)
    try:
        return client.post(url, content=body, headers=headers).status_code
    finally:
        if own:
            client.close()
