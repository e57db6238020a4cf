"""Shared pieces for the webhook, compliance and isolation tests: Shopify-shaped bodies, signing, row censuses."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from backend.shops.models import Shop

T1 = "2026-03-01T10:00:00-05:00"
T2 = "2026-03-02T10:00:00-05:00"


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process even when REDIS_URL configures a broker (CI): the test is the worker."""
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def sign(body: bytes, secret: str | None = None) -> str:
    key = (settings.SHOPIFY_API_SECRET if secret is None else secret).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def post_webhook(client, topic: str, payload, domain: str, *, event_id: str | None = None, secret: str | None = None,
                 hmac_header: str | None = None, raw: bytes | None = None, omit_hmac: bool = False):
    """POST like Shopify does: JSON body, HMAC over those exact bytes, the X-Shopify-* headers."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": domain,
        "HTTP_X_SHOPIFY_EVENT_ID": event_id or str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_WEBHOOK_ID": str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_API_VERSION": "2026-10",
        "HTTP_X_SHOPIFY_TRIGGERED_AT": datetime.now(UTC).isoformat(),
    }
    if not omit_hmac:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = hmac_header if hmac_header is not None else sign(body, secret)
    return client.post("/shopify/webhooks", data=body, content_type="application/json", **headers)


# --- Shopify REST webhook bodies -----------------------------------------------------------------------------------


def product_body(pid: int = 1001, title: str = "Alpine Jacket", updated_at: str = T1, stock: int = 5) -> dict:
    return {
        "id": pid, "title": title, "handle": f"product-{pid}", "vendor": "Acme", "product_type": "Jackets",
        "tags": "winter, outdoor", "status": "active", "created_at": T1, "updated_at": updated_at,
        "image": {"src": f"https://cdn.example/{pid}.jpg"}, "images": [{"src": f"https://cdn.example/{pid}.jpg"}],
        "variants": [
            {"id": pid * 10 + i, "product_id": pid, "title": f"Size {i}", "sku": f"SKU-{pid}-{i}", "price": "120.00",
             "compare_at_price": "150.00", "inventory_item_id": pid * 100 + i, "inventory_quantity": stock,
             "inventory_management": "shopify", "inventory_policy": "deny", "updated_at": updated_at}
            for i in range(2)
        ],
    }


def customer_body(cid: int = 501, email: str = "zelda.quimby@example.org", phone: str = "+34911222333",
                  first: str = "Zelda", last: str = "Quimbyworth", updated_at: str = T1) -> dict:
    return {
        "id": cid, "email": email, "phone": phone, "first_name": first, "last_name": last, "tags": "vip",
        "created_at": T1, "updated_at": updated_at, "orders_count": 1, "total_spent": "240.00",
        "email_marketing_consent": {"state": "subscribed"},
        "default_address": {"country_code": "ES", "province": "Madrid", "city": "Alcobendas"},
    }


def order_body(oid: int = 9001, customer: dict | None = None, updated_at: str = T1, product_id: int = 1001,
               source_name: str = "web", financial_status: str = "paid") -> dict:
    customer = customer or customer_body()
    return {
        "id": oid, "name": f"#{oid}", "email": customer["email"], "currency": "EUR", "created_at": T1,
        "processed_at": T1, "updated_at": updated_at, "subtotal_price": "240.00", "total_price": "250.00",
        "total_discounts": "0.00", "total_tax": "10.00", "financial_status": financial_status,
        "source_name": source_name, "app_id": 580111 if source_name == "web" else None,
        "discount_codes": [{"code": "WELCOME10", "amount": "0.00"}], "cancelled_at": None, "cancel_reason": None,
        "customer": {"id": customer["id"], "email": customer["email"]},
        "shipping_address": {"first_name": customer["first_name"], "last_name": customer["last_name"],
                             "address1": f"Calle {customer['last_name']} 123", "city": "Alcobendas",
                             "phone": customer["phone"], "country_code": "ES"},
        "note_attributes": [{"name": "gift_note", "value": f"For {customer['first_name']}"}],
        "line_items": [
            {"id": oid * 10 + 1, "product_id": product_id, "variant_id": product_id * 10, "title": "Alpine Jacket",
             "sku": f"SKU-{product_id}-0", "quantity": 2, "price": "120.00", "total_discount": "0.00",
             "properties": [{"name": "engraving", "value": customer["first_name"] + " " + customer["last_name"]}]},
        ],
        "refunds": [],
    }


# --- row census ----------------------------------------------------------------------------------------------------


def shop_fk_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) with a foreign key to Shop, found independently of the code under test."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Shop:
                found.append((model, field.attname))
    return found


def rows_of(shop_id: int) -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.filter(**{attname: shop_id}).count()
        for model, attname in shop_fk_fields()
    }


def all_rows() -> dict[str, int]:
    """Row count of every table the app owns (a forged request must change none of them)."""
    out = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in {"contenttypes", "auth", "sessions", "admin"}:
            continue
        out[model._meta.label] = model._base_manager.count()
    return out


def text_columns_of(shop_id: int):
    """(model label, field name, value as text) for every text or JSON column of every row of the shop."""
    for model, attname in shop_fk_fields():
        fields = [f for f in model._meta.concrete_fields
                  if isinstance(f, models.CharField | models.TextField | models.JSONField)]
        for row in model._base_manager.filter(**{attname: shop_id}).values(*[f.attname for f in fields]):
            for name, value in row.items():
                if value not in (None, "", [], {}):
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    yield model._meta.label, name, text


# --- the Shopify stand-in as the sender ----------------------------------------------------------------------------

STANDIN_DOMAIN = "gamma.myshopify.com"


@pytest.fixture
def standin_store():
    from tests.standins.shopify.store import Store, StoreSize

    return Store(STANDIN_DOMAIN, StoreSize(products=8, customers=8, orders=16), seed=7)


@pytest.fixture
def dispatcher(settings):
    """The stand-in's webhook sender (real HTTP, Shopify's headers and signing), with test-sized retry delays."""
    from tests.standins.shopify.webhooks import WebhookDispatcher

    sender = WebhookDispatcher(settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_VERSION, timeout=5.0,
                               retry_delays=(0.05, 0.1, 0.2))
    yield sender
    sender.stop()


def deliver(sender, live_server, topic: str, payload: dict, domain: str = STANDIN_DOMAIN, **kw):
    """Send one webhook from the stand-in to the running app and wait until it is answered for good."""
    delivery = sender.send(f"{live_server.url}/shopify/webhooks", domain, topic, payload, **kw)
    assert delivery.done.wait(15), f"{topic} never finished: {delivery.attempts}"
    return delivery


@pytest.fixture
def webhook_standin(live_server, settings):
    """The whole Shopify stand-in server, delivering its webhooks to the running app."""
    from tests.standins.shopify import ShopifyStandin, StoreSize

    server = ShopifyStandin(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET, app_url=live_server.url,
                            webhook_url=f"{live_server.url}/shopify/webhooks",
                            size=StoreSize(products=8, customers=8, orders=16), seed=7,
                            retry_delays=(0.05, 0.1, 0.2, 0.4), validate_schema=False).start()
    yield server
    server.stop()
