"""Continue shopping's fast path: a visitor's recent views in Redis, in step with the events table through
ingestion, stitching and GDPR redaction (a real redis-server of the test's own, the real API)."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.events import recent_views
from backend.events.identity import stitch
from backend.events.models import Event
from backend.shops.redaction import CustomerRef, redact_customer, redact_shop
from tests.outage import RedisServer, needs_redis_server, redis_cache_settings
from tests.storefront.factories import make_customer, make_product

pytestmark = [pytest.mark.django_db, needs_redis_server]

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}
ORIGIN = "https://alpha.myshopify.com"


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def redis(settings, redis_server):
    settings.CACHES = redis_cache_settings(redis_server)
    from django.core.cache import cache

    cache.clear()
    return redis_server


def continue_shopping(client, shop, visitor: str, **params) -> list[str]:
    res = client.get("/api/storefront/widgets/recently_viewed", {"key": shop.public_key, "visitor": visitor,
                                                                 "limit": 10, **params}, HTTP_ORIGIN=ORIGIN, **UA)
    assert res.status_code == 200, res.content
    return [item["title"] for item in res.json()["items"]]


def view(client, shop, visitor: str, *products, customer=None) -> None:
    body = {"key": shop.public_key, "visitor": visitor, "session": "s-1", "consent": {"analytics": True},
            "events": [{"type": "product_viewed", "product": p.platform_id} for p in products]}
    res = client.post("/api/storefront/events", json.dumps(body), content_type="text/plain", HTTP_ORIGIN=ORIGIN, **UA)
    assert res.status_code == 202 and res.json()["accepted"] == len(products)


def events_queries(run) -> tuple[object, int]:  # noqa: ANN001
    table = Event._meta.db_table
    with CaptureQueriesContext(connection) as ctx:
        result = run()
    return result, sum(table in q["sql"] for q in ctx.captured_queries)


@pytest.fixture
def products(shop):
    return [make_product(shop, title=f"P{i}") for i in range(5)]


def test_views_are_answered_from_redis_and_new_views_join_without_the_database(client, shop, products):
    a, b, c, d, _ = products
    view(client, shop, "v-1", a, b, c)
    first, scans = events_queries(lambda: continue_shopping(client, shop, "v-1"))
    assert first == ["P2", "P1", "P0"] and scans == 1, "the first page reads the events table once"
    again, scans = events_queries(lambda: continue_shopping(client, shop, "v-1"))
    assert again == first and scans == 0, "then Redis answers"
    view(client, shop, "v-1", a, d)
    latest, scans = events_queries(lambda: continue_shopping(client, shop, "v-1"))
    assert latest == ["P3", "P0", "P2", "P1"] and scans == 0
    assert continue_shopping(client, shop, "v-1", product=d.platform_id) == ["P0", "P2", "P1"]
    # Redis emptied (restart, eviction): rebuilt from the events table, same answer.
    from django.core.cache import cache

    cache.clear()
    rebuilt, scans = events_queries(lambda: continue_shopping(client, shop, "v-1"))
    assert rebuilt == latest and scans == 1


def test_a_list_trimmed_past_its_length_is_rebuilt_from_the_database(client, shop, products, monkeypatch):
    monkeypatch.setattr(recent_views, "KEEP", 2)
    a, b, c, d, e = products
    view(client, shop, "v-2", a)
    assert continue_shopping(client, shop, "v-2") == ["P0"]
    view(client, shop, "v-2", b, c, d)  # the sentinel falls off: only a tail is left
    rebuilt, scans = events_queries(lambda: continue_shopping(client, shop, "v-2"))
    assert rebuilt == ["P3", "P2", "P1", "P0"] and scans == 1
    kept, scans = events_queries(lambda: continue_shopping(client, shop, "v-2"))
    assert kept == ["P3", "P2"] and scans == 0, "then the newest KEEP from Redis"


def test_views_older_than_the_window_leave_the_list_even_for_a_visitor_who_keeps_coming_back(client, shop,
                                                                                           products, monkeypatch):
    import time

    a, b, c, *_ = products
    view(client, shop, "v-6", a)
    assert continue_shopping(client, shop, "v-6") == ["P0"]  # the whole history is in Redis now
    real_time = time.time
    for days in (45, 91):  # a visit every six weeks keeps the key alive; P0 turns 91 days old on the second
        monkeypatch.setattr(time, "time", lambda days=days: real_time() + days * 86400)
        view(client, shop, "v-6", b if days == 45 else c)
    shown, scans = events_queries(lambda: continue_shopping(client, shop, "v-6"))
    assert shown == ["P2", "P1"] and scans == 0, "the database reads no further back than 90 days: nor does Redis"
    # Trimmed when written, not only skipped when read; and the key lapses on its own.
    from django.core.cache import cache

    key = cache.make_and_validate_key(f"rv:{shop.pk}:v-6")
    raw = cache._cache.get_client(key).lrange(key, 0, -1)
    assert len(raw) == 3 and raw[-1] == recent_views.SENTINEL
    assert 0 < cache._cache.get_client(key).ttl(key) <= recent_views.TTL


def test_stitching_switches_to_the_customers_history_across_devices(client, shop, products):
    a, b, c, *_ = products
    customer = make_customer(shop)
    view(client, shop, "phone-1", a)
    view(client, shop, "laptop-1", b)
    assert continue_shopping(client, shop, "laptop-1") == ["P1"]  # held in Redis now
    stitch(shop, "phone-1", customer)
    stitch(shop, "laptop-1", customer)
    assert continue_shopping(client, shop, "laptop-1") == ["P1", "P0"], "both devices once linked"
    view(client, shop, "phone-1", c)
    assert continue_shopping(client, shop, "laptop-1") == ["P2", "P1", "P0"]


def test_gdpr_redaction_empties_the_list_at_once(client, shop, products):
    a, b, *_ = products
    customer = make_customer(shop, email="ana@example.com")
    view(client, shop, "v-3", a, b)
    stitch(shop, "v-3", customer)
    assert continue_shopping(client, shop, "v-3") == ["P1", "P0"]
    assert recent_views.read(shop.pk, "v-3") is not recent_views.MISS
    redact_customer(shop, CustomerRef(platform_id=customer.platform_id, email="ana@example.com"))
    assert recent_views.read(shop.pk, "v-3") is recent_views.MISS
    assert continue_shopping(client, shop, "v-3") == []
    assert recent_views.read(shop.pk, "v-3") == ([], None), "what the database says now: nothing"


def test_a_shops_redaction_drops_every_visitors_list(client, shop, products):
    view(client, shop, "v-4", products[0])
    view(client, shop, "v-5", products[1])
    assert continue_shopping(client, shop, "v-4") and continue_shopping(client, shop, "v-5")
    redact_shop(shop.pk)
    assert recent_views.read(shop.pk, "v-4") is recent_views.MISS
    assert recent_views.read(shop.pk, "v-5") is recent_views.MISS


def test_a_worker_without_the_cards_takes_them_from_redis_formatted_and_no_older_than_card_ttl(
    client, shop, products, monkeypatch
):
    from backend.catalog.models import Product, Variant
    from backend.storefront import cards, hotcache

    a, b, *_ = products
    view(client, shop, "v-9", a, b)

    def items(locale: str) -> tuple[list[tuple[str, str]], int]:
        res = client.get("/api/storefront/widgets/recently_viewed", {"key": shop.public_key, "visitor": "v-9",
                                                                     "locale": locale}, HTTP_ORIGIN=ORIGIN, **UA)
        assert res.status_code == 200, res.content
        return [(i["title"], i["price_formatted"]) for i in res.json()["items"]]

    def catalog_queries(run) -> tuple[object, int]:  # noqa: ANN001
        tables = (Product._meta.db_table, Variant._meta.db_table)
        with CaptureQueriesContext(connection) as ctx:
            result = run()
        return result, sum(any(f'"{t}"' in q["sql"] for t in tables) for q in ctx.captured_queries)

    first_es, reads = catalog_queries(lambda: items("es"))
    first_en = items("en")
    assert [t for t, _ in first_es] == ["P1", "P0"] and reads == 1, "the first worker reads the catalogue (one query)"
    assert first_es != first_en, "prices formatted per locale"
    hotcache.cards.clear()  # another worker, which never held these cards
    (again_es, reads), again_en = catalog_queries(lambda: items("es")), items("en")
    assert (again_es, again_en, reads) == (first_es, first_en, 0), "the same cards, from Redis"
    # A card read CARD_TTL ago is not taken from Redis: stock and prices stay as fresh as before.
    a.title = "P0 renamed"
    a.save(update_fields=["title"])
    hotcache.cards.clear()
    real_time = cards.time.time
    monkeypatch.setattr(cards.time, "time", lambda: real_time() + cards.CARD_TTL + 1)
    later, reads = catalog_queries(lambda: items("es"))
    assert [t for t, _ in later] == ["P1", "P0 renamed"] and reads == 1
