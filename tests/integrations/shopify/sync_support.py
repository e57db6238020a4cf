"""Fixtures for the install and sync tests: one Shopify stand-in server per test session, a fresh shop per test.

Import the fixtures into a test module (`from .sync_support import ...`); they run the app's real code over real
HTTP: our httpx client reroutes *.myshopify.com to the stand-in (settings.SHOPIFY_STANDIN_URL).
"""
from __future__ import annotations

import itertools
import os

import pytest

from backend.shops.models import Shop
from tests.standins.shopify import ShopifyStandin, StoreSize, schema_available

API_KEY = "sync-test-api-key"
API_SECRET = "sync-test-api-secret-0123456789abcdef-0123456789"
SMALL = StoreSize(products=24, variants_per_product=3.0, customers=30, orders=60, lines_per_order=3.0)
_domains = itertools.count(1)


@pytest.fixture(scope="session")
def shopify_standin():
    if not schema_available():
        # Runs anyway (the stand-in falls back to its small schema) but then documents are not validated.
        pass
    standin = ShopifyStandin(API_KEY, API_SECRET, app_url="http://127.0.0.1:8000", size=SMALL, seed=5,
                             bulk_duration=0.0, retry_delays=(0.05, 0.1)).start()
    yield standin
    standin.stop()


@pytest.fixture
def standin(shopify_standin, settings):
    """The stand-in with the app pointed at it (API credentials, URL) for this test."""
    settings.SHOPIFY_API_KEY = API_KEY
    settings.SHOPIFY_API_SECRET = API_SECRET
    settings.SHOPIFY_API_SECRET_OLD = ""
    settings.SHOPIFY_STANDIN_URL = shopify_standin.base_url
    settings.APP_URL = "http://127.0.0.1:8000"
    shopify_standin.app_url = settings.APP_URL
    shopify_standin.oauth.app_url = settings.APP_URL
    return shopify_standin


def new_domain(prefix: str = "shop") -> str:
    return f"{prefix}-{os.getpid()}-{next(_domains)}.myshopify.com"


def install_from_token(domain: str, token: dict) -> Shop:
    """Our Shop row for a token the stand-in issued (the install flows themselves are test_install's job)."""
    from backend.shops.install import install_shop
    from integrations.shopify.oauth import _expiry

    return install_shop(Shop.Platform.SHOPIFY, domain, {
        "access_token": token["access_token"], "scope": token.get("scope", ""),
        "expires_at": _expiry(token.get("expires_in")), "refresh_token": token.get("refresh_token", ""),
        "refresh_expires_at": _expiry(token.get("refresh_token_expires_in")),
    }, start_sync=False)


@pytest.fixture
def standin_shop(standin, db):
    """A fresh stand-in store, installed through the token shortcut, and our Shop row for it."""
    domain = new_domain("sync")
    standin.add_shop(domain)
    return install_from_token(domain, standin.issue_token(domain))
