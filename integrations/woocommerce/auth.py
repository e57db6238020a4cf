"""Connecting a WooCommerce store (wc-auth), and what the store's plugin may ask of us afterwards.

Connect: we issue a single-use, expiring token and send the merchant to the store's /wc-auth/v1/authorize with it
as `user_id`. After the merchant approves, the store POSTs {key_id, user_id, consumer_key, consumer_secret,
key_permissions} to our callback. The token alone is not proof (the merchant's browser saw it), so the keys are
also tried against the store's REST API before anything is written: a forged callback holds keys that do not work
there. The keys are kept in the Shop's encrypted token fields.

WooCommerce refuses a callback_url that is not https. Ours is built from settings.APP_URL, which is https in
production; tests and the demo run the app on http://127.0.0.1, which the local stand-in store allows for loopback
callbacks only (see tests/standins/woocommerce/server.py).

Plugin requests (config, disconnect) are signed like WooCommerce signs webhooks, with the key's consumer secret:
the plugin reads it from the store's woocommerce_api_keys table (WooCommerce keeps the secret there in clear), so
no other secret has to travel through the merchant's browser.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backend.core.json_input import JsonInputError, parse_json
from backend.shops.models import Shop
from backend.shops.uninstall import uninstall_shop
from integrations.base.errors import IntegrationError

from .client import WooClient
from .models import ConnectRequest, WooStore, token_digest

logger = logging.getLogger("personalize.woocommerce.auth")

APP_NAME = "Personalize"
SCOPE = "read_write"
WEBHOOK_TOPICS = tuple(f"{r}.{e}" for r in ("product", "order", "customer") for e in ("created", "updated",
                                                                                         "deleted"))
KEY_RE = re.compile(r"^ck_[a-f0-9]{40}$")
SECRET_RE = re.compile(r"^cs_[a-f0-9]{40}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PLUGIN_MAX_SKEW = 300  # seconds a signed plugin request stays valid
MAX_REQUEST_BYTES = 16 * 1024  # a key callback or a plugin request is a few hundred bytes


class ConnectRefused(Exception):
    """A callback or plugin request we will not act on; the message says why (logged, counted, answered 4xx)."""


class NotConnected(ConnectRefused):
    """A plugin request signed with the secret of a connection the app ended (it holds no keys for the store now):
    the plugin stops its storefront output and deletes the keys it knows we used."""


def app_url(path: str) -> str:
    return settings.APP_URL.rstrip("/") + path


def normalize_store_url(raw: str) -> str:
    """The store's home URL as `scheme://host[:port][/path]`, or ValueError with what is wrong."""
    raw = (raw or "").strip()
    if len(raw) > 200:
        raise ValueError("the address is too long")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlparse(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("enter the store's address, like https://shop.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("enter only the store's address, without credentials or query")
    host = parts.hostname.lower()
    if not re.fullmatch(r"[a-z0-9.-]{1,253}", host) or ".." in host:
        raise ValueError("the store's host name is not valid")
    if _private_host(host) and not getattr(settings, "WOOCOMMERCE_ALLOW_LOOPBACK_STORES", False):
        # We call this address from our servers: an internal one would turn the connect form into a proxy.
        raise ValueError("the store must be reachable on the internet")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError as exc:
        raise ValueError("the port is not valid") from exc
    path = re.sub(r"/+$", "", parts.path)
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)*", path):
        raise ValueError("the store's path is not valid")
    return f"{parts.scheme}://{host}{port}{path}"


def _private_host(host: str) -> bool:
    if host in ("localhost",) or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


def shop_domain(store_url: str) -> str:
    parts = urlparse(store_url)
    return (parts.netloc + parts.path).lower()[:255]


# --- wc-auth ---------------------------------------------------------------------------------------------------


def begin_connect(store_url: str, session_key: str) -> str:
    """Record a pending connection and return the store URL the merchant's browser goes to."""
    _, token = ConnectRequest.issue(store_url, session_key)
    query = urlencode({
        "app_name": APP_NAME,
        "scope": SCOPE,
        "user_id": token,
        "return_url": app_url(reverse("woocommerce-return")),
        "callback_url": app_url(reverse("woocommerce-callback")),
    })
    return f"{store_url}/wc-auth/v1/authorize?{query}"


@dataclass(frozen=True)
class Keys:
    key_id: str
    consumer_key: str
    consumer_secret: str
    permissions: str
    token: str


def parse_callback(raw: bytes) -> Keys:
    data = _json_object(raw)
    token = str(data.get("user_id") or "")
    keys = Keys(str(data.get("key_id") or "")[:32], str(data.get("consumer_key") or ""),
                str(data.get("consumer_secret") or ""), str(data.get("key_permissions") or ""), token)
    if not TOKEN_RE.match(token):
        raise ConnectRefused("missing or malformed user_id")
    if not KEY_RE.match(keys.consumer_key) or not SECRET_RE.match(keys.consumer_secret):
        raise ConnectRefused("malformed consumer key or secret")
    if keys.permissions != SCOPE:
        raise ConnectRefused(f"key permissions are {keys.permissions[:20]!r}, {SCOPE} needed")
    return keys


def accept_keys(raw: bytes) -> Shop:
    """Handle the store's key callback; ConnectRefused (nothing written) unless it answers a request we issued."""
    keys = parse_callback(raw)
    pending = ConnectRequest.objects.filter(token_digest=token_digest(keys.token)).first()
    if pending is None:
        raise ConnectRefused("no connection was started with this user_id")
    if pending.used_at is not None:
        raise ConnectRefused("this connection was already completed")
    if pending.expires_at <= timezone.now():
        raise ConnectRefused("the connection request expired")
    client = WooClient(pending.store_url, keys.consumer_key, keys.consumer_secret,
                       shop_domain=shop_domain(pending.store_url), retries=1)
    try:
        status = client.get("system_status")
    except IntegrationError as exc:
        raise ConnectRefused(f"the keys do not work on {pending.store_url}: {exc}") from exc
    with transaction.atomic():
        # Single use even when two callbacks race: only one UPDATE finds the row unused.
        claimed = ConnectRequest.objects.filter(pk=pending.pk, used_at__isnull=True,
                                                expires_at__gt=timezone.now()).update(used_at=timezone.now())
        if not claimed:
            raise ConnectRefused("this connection was already completed")
        shop = _save_shop(pending.store_url, keys, status if isinstance(status, dict) else {})
        ConnectRequest.objects.filter(pk=pending.pk).update(shop=shop)
        shop_id = shop.pk
        transaction.on_commit(lambda: _queue_finish(shop_id))
    logger.info("woocommerce store connected shop=%s", shop.domain)
    return shop


def _queue_finish(shop_id: int) -> None:
    from .tasks.sync import sync_after_connect

    sync_after_connect.delay(shop_id)


def _save_shop(store_url: str, keys: Keys, status: dict) -> Shop:
    settings_ = status.get("settings") if isinstance(status.get("settings"), dict) else {}
    env = status.get("environment") if isinstance(status.get("environment"), dict) else {}
    currency = str(settings_.get("currency") or "")
    language = str(env.get("language") or "")[:2].lower()
    shop, _ = Shop.objects.select_for_update().get_or_create(
        platform=Shop.Platform.WOOCOMMERCE, domain=shop_domain(store_url),
        defaults={"name": urlparse(store_url).hostname or store_url},
    )
    shop.access_token = keys.consumer_key
    shop.refresh_token = keys.consumer_secret
    shop.scopes = keys.permissions
    if re.fullmatch(r"[A-Z]{3}", currency):
        shop.currency = currency
    if language in ("en", "es"):
        shop.locale = language
    shop.mark_installed()
    shop.save()
    store = WooStore.objects.for_shop(shop).first() or WooStore(shop=shop)
    store.store_url = store_url
    store.key_id = keys.key_id
    store.key_permissions = keys.permissions
    store.webhook_secret = store.webhook_secret or secrets.token_urlsafe(32)
    store.ended_secret = ""
    store.connected_at = timezone.now()
    store.save()
    return shop


def finish_connect(shop: Shop) -> list[int]:
    """Subscribe to the store's webhooks (replacing any of ours left from an earlier connection)."""
    store = WooStore.objects.for_shop(shop).get()
    client = WooClient.for_shop(shop)
    delivery_url = app_url(reverse("woocommerce-webhooks", args=[shop.pk]))
    for hook in client.all("webhooks"):
        if hook.get("delivery_url") == delivery_url:
            client.delete_webhook(hook["id"])
    ids = []
    for topic in WEBHOOK_TOPICS:
        hook = client.create_webhook(topic, delivery_url, store.webhook_secret, f"{APP_NAME}: {topic}")
        ids.append(int(hook["id"]))
    WooStore.objects.for_shop(shop).filter(pk=store.pk).update(webhook_ids=ids)
    return ids


# --- after connecting --------------------------------------------------------------------------------------------


def disconnect(shop: Shop, erase_data: bool = False) -> None:
    """Delete our webhooks and unused popup coupons on the store (while the keys still work), forget the keys,
    stop the shop's work. With `erase_data`, every row of the shop goes too (the store's data deletion request).
    The REST key itself can only be deleted inside WordPress: the plugin does that (see Personalize_App)."""
    from .coupons import delete_unused_coupons

    store = WooStore.objects.for_shop(shop).first()
    if store is not None and shop.access_token:
        client = WooClient.for_shop(shop)
        client.retries = 1
        for hook_id in store.webhook_ids or []:
            try:
                client.delete_webhook(hook_id)
            except IntegrationError as exc:  # already gone, or the merchant revoked the key first
                logger.info("could not delete webhook %s shop=%s: %s", hook_id, shop.domain, exc)
        delete_unused_coupons(shop, client)
    if store is not None:
        WooStore.objects.for_shop(shop).filter(pk=store.pk).update(
            webhook_ids=[], webhook_secret="", ended_secret=shop.refresh_token or store.ended_secret)
    uninstall_shop(shop)
    if erase_data:
        from backend.shops.redaction import redact_shop

        redact_shop(shop.pk)
    logger.info("woocommerce store disconnected shop=%s erase=%s", shop.domain, erase_data)


def plugin_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_plugin_request(raw: bytes, signature: str, store: str = "") -> tuple[Shop, dict]:
    """The shop a signed plugin request speaks for, and its body; ConnectRefused otherwise, NotConnected when it is
    signed with the secret of a connection the app ended.

    A caller that cannot sign hears the same "bad signature" for a connected store, a disconnected one and one we
    never knew: the answer never tells a stranger which stores use the app.

    The plugin names its store in the `X-Personalize-Store` header, so the signature is checked before a byte of
    the body is parsed. Plugins older than that header name it only in the body: for them the body is parsed first,
    under the size and depth caps of backend.core.json_input, which make that parse safe for any bytes."""
    if store:
        shop = _signed_by_plugin(_plugin_domain(store), raw, signature)
        data = _json_object(raw)
        if _plugin_domain(data.get("store_url")) != shop.domain:
            raise ConnectRefused("store_url does not match X-Personalize-Store")
    else:
        data = _json_object(raw)
        shop = _signed_by_plugin(_plugin_domain(data.get("store_url")), raw, signature)
    try:
        ts = int(data.get("timestamp"))
    except (TypeError, ValueError) as exc:
        raise ConnectRefused("missing timestamp") from exc
    if abs(time.time() - ts) > PLUGIN_MAX_SKEW:
        raise ConnectRefused("stale request")
    return shop, data


def _plugin_domain(store_url: object) -> str:
    try:
        return shop_domain(normalize_store_url(str(store_url or "")))
    except ValueError as exc:
        raise ConnectRefused(f"store_url: {exc}") from exc


def _signed_by_plugin(domain: str, raw: bytes, signature: str) -> Shop:
    """The connected shop whose plugin signed `raw`. Signed with the secret of a connection the app ended:
    NotConnected. Anything else, whatever the store's state: the one ConnectRefused("bad signature")."""
    # The same queries and both comparisons whatever the store's state: not even the time taken tells them apart.
    shop = Shop.objects.filter(platform=Shop.Platform.WOOCOMMERCE, domain=domain).first()
    store = WooStore.all_shops.filter(shop__platform=Shop.Platform.WOOCOMMERCE, shop__domain=domain).first()
    live = _signature_matches(shop.refresh_token if shop is not None else "", raw, signature)
    ended = _signature_matches(store.ended_secret if store is not None else "", raw, signature)
    if live and shop is not None:
        return shop
    if ended:
        raise NotConnected("store not connected")
    raise ConnectRefused("bad signature")


def _signature_matches(secret: str, raw: bytes, signature: str) -> bool:
    # Compared as bytes: a header with non-ASCII characters must be a mismatch, not a TypeError. No secret: the
    # HMAC is still computed (and can never match), to take the time a real comparison takes.
    expected = plugin_signature(secret or "\0", raw).encode()
    return hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected) and bool(secret)


def _json_object(raw: bytes) -> dict:
    """A wc-auth callback's or a plugin request's body: one JSON object under the size and depth caps."""
    try:
        data = parse_json(raw, max_bytes=MAX_REQUEST_BYTES, max_depth=4)
    except JsonInputError as exc:
        raise ConnectRefused(exc.reason) from exc
    if not isinstance(data, dict):
        raise ConnectRefused("body is not a JSON object")
    return data
