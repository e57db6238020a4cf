"""What a WooCommerce connection needs beyond the Shop: the pending wc-auth request and the store's API details.

The consumer key and secret themselves live in the Shop's encrypted `access_token` / `refresh_token` fields, so
`Shop.revoke()`, key rotation and redaction treat them like every other platform credential.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped
from backend.shops.crypto import EncryptedTextField

CONNECT_REQUEST_TTL = timedelta(minutes=30)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConnectRequest(models.Model):
    """One wc-auth round trip we started. Its token is the `user_id` WooCommerce echoes back in the key callback:
    single use, expiring, stored only as a digest. Not shop-scoped: the shop does not exist until it succeeds."""

    token_digest = models.CharField(max_length=64, unique=True)
    store_url = models.CharField(max_length=255)
    session_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    @classmethod
    def issue(cls, store_url: str, session_key: str = "") -> tuple[ConnectRequest, str]:
        token = secrets.token_urlsafe(24)
        req = cls.objects.create(token_digest=token_digest(token), store_url=store_url, session_key=session_key,
                                 expires_at=timezone.now() + CONNECT_REQUEST_TTL)
        return req, token


class WooStore(ShopScoped):
    """The store's REST details: base URL (WordPress may live in a subfolder), key id and webhook secret."""

    store_url = models.CharField(max_length=255)
    key_id = models.CharField(max_length=32, blank=True)
    key_permissions = models.CharField(max_length=20, blank=True)
    # One secret for every webhook we create on this store; X-WC-Webhook-Signature is verified with it.
    webhook_secret = EncryptedTextField(blank=True, default="")
    webhook_ids = models.JSONField(default=list, blank=True)
    # The consumer secret of a connection the app ended (not its key: alone it opens no REST call). Kept only to
    # verify the plugin's next signed request and answer it "disconnected" (410), so the plugin deletes the key;
    # a caller that cannot sign gets the same 401 whether or not the store was ever connected.
    ended_secret = EncryptedTextField(blank=True, default="")
    connected_at = models.DateTimeField(null=True, blank=True)
    # When the WordPress plugin last fetched its configuration (signed): it is installed, connected and putting the
    # storefront script on the store's pages. Home's checklist reads it.
    plugin_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="woo_store_once")]
