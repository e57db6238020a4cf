"""Session tokens, merchants and storefront activity for the cockpit tests, always inside one shop."""
from __future__ import annotations

import itertools
import time
from datetime import datetime
from decimal import Decimal

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from backend.catalog.models import Product, Variant
from backend.dashboard.models import ShopMember
from backend.events.models import Event, EventType
from backend.orders.evidence import VISITOR_ATTRIBUTE, WIDGET_PROPERTY
from backend.orders.models import LineItem, Order

_seq = itertools.count(1)


def session_token(shop, secret: str | None = None, expires_in: int = 60, sub: str = "7") -> str:
    """A session token as App Bridge issues it (HS256, signed with the app secret)."""
    now = int(time.time())
    claims = {"iss": f"https://{shop.domain}/admin", "dest": f"https://{shop.domain}", "aud": settings.SHOPIFY_API_KEY,
              "sub": sub, "exp": now + expires_in, "nbf": now - 5, "iat": now - 5, "jti": f"j{next(_seq)}",
              "sid": "s"}
    return jwt.encode(claims, secret or settings.SHOPIFY_API_SECRET, algorithm="HS256")


def sign_in(client, shop) -> None:
    """The merchant of `shop` signed in on this test client, as after a login link or the embedded admin."""
    from backend.dashboard.auth import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = shop.pk
    session.save()


def member(shop, username: str = "ana@example.com", password: str = "correct horse 42"):  # noqa: S107
    user = get_user_model().objects.create_user(username=username, password=password)
    ShopMember.objects.create(shop=shop, user=user)
    return user


def product(shop, title: str = "Mug", price: str = "20.00") -> Product:
    n = next(_seq)
    p = Product.objects.create(shop=shop, platform_id=f"dp{n}", title=title, total_inventory=10)
    Variant.objects.create(shop=shop, product=p, platform_id=f"dv{n}", price=Decimal(price), inventory_quantity=10)
    return p


def event(shop, type: str, visitor: str, at: datetime, product=None, widget: str = "also_bought") -> Event:  # noqa: A002
    return Event.objects.create(shop=shop, type=type, visitor_id=visitor, session_id=f"s-{visitor}", product=product,
                                widget=widget, created_at=at)


def click(shop, visitor: str, p: Product, at: datetime, widget: str = "also_bought") -> Event:
    return event(shop, EventType.WIDGET_CLICK, visitor, at, p, widget)


def order(shop, visitor: str, products, at: datetime, widget_property: str = "", refunded_quantity: int = 0,
          customer=None, **kw) -> Order:
    n = next(_seq)
    attrs = [[VISITOR_ATTRIBUTE, visitor]] if visitor else []
    total = sum((p.variants.first().price for p in products), Decimal(0))
    o = Order.objects.create(shop=shop, platform_id=f"do{n}", processed_at=at, note_attributes=attrs,
                             total_price=total, customer=customer, **kw)
    for i, p in enumerate(products):
        props = [[WIDGET_PROPERTY, widget_property]] if widget_property else []
        LineItem.objects.create(shop=shop, order=o, platform_id=f"dl{n}-{i}", product=p, quantity=1,
                                price=p.variants.first().price, properties=props, refunded_quantity=refunded_quantity)
    return o


def now() -> datetime:
    return timezone.now()
