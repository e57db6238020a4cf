"""Finding 7: budgets count what requests carry. Floods over real HTTP against a running server.

Before the fix one address stored 30,000 product views in a minute (600 requests of 50 events, each request one
unit of a 600-request budget), and the consent endpoint stored 49 junk emails in 2.6 s with no limit at all.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from django.core.management import call_command
from django.db import connections

from backend.events import throttle
from backend.events.models import Event, EventType
from backend.popups.models import Consent
from backend.recommendations.registry import RecommendationContext, recommend
from backend.recommendations.tasks import order_recorded
from tests.popups.factories import COPY, make_campaign
from tests.recommendations import factories as f

from .conftest import all_rows

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
ATTACKER = "203.0.113.66"
SHOPPER = "198.51.100.7"


@pytest.fixture
def budgets(settings, own_cache_namespace):
    """The production defaults, counted by the client's address as a load balancer forwards it."""
    settings.STOREFRONT_TRUST_FORWARDED_FOR = True
    for name, value in throttle.DEFAULTS.items():
        setattr(settings, name, value)
    return throttle.DEFAULTS


@pytest.fixture
def store(transactional_db, live_server, budgets):
    from tests.factories import make_shop

    shop = make_shop("budget.myshopify.com")
    sellers = [f.product(shop, f"Seller {i}") for i in range(5)]
    underdog = f.product(shop, "Never sold")
    for rank, product in enumerate(sellers):  # Seller 0 sold 5, Seller 1 sold 4, ...
        for _ in range(5 - rank):
            order_recorded(shop.pk, f.order(shop, [product]).pk)
    return shop, sellers, underdog


def bestsellers(shop) -> list[int]:
    return recommend(shop, "bestsellers", RecommendationContext(algorithm="units_24h", limit=5, personal=False))


def windows_spanned(started: float, ended: float, seconds: int = throttle.WINDOW) -> int:
    return int(ended) // seconds - int(started) // seconds + 1


def post_events(http, key: str, events: list, ip: str, visitor: str = "", session: str = ""):
    body = {"key": key, "consent": {"analytics": bool(visitor)}, "visitor": visitor, "session": session,
            "events": events}
    return http.post("/api/storefront/events", content=json.dumps(body),
                     headers={"Content-Type": "text/plain", "User-Agent": UA, "X-Forwarded-For": ip,
                              "Connection": "close"})  # keep-alive meets delayed ACKs: 40 ms per request


def test_thirty_thousand_views_from_one_address_store_at_most_the_budget(store, live_server):
    shop, sellers, underdog = store
    before = bestsellers(shop)
    assert before == [p.pk for p in sellers]
    views = [{"type": "product_viewed", "product": underdog.platform_id}] * 50
    statuses: Counter[int] = Counter()
    started = time.time()
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for i in range(600):  # 30,000 views; every other request with consent and a fresh visitor id
            visitor = f"bot-{i}" if i % 2 else ""
            statuses[post_events(http, shop.public_key, views, ATTACKER, visitor, f"s-{i}").status_code] += 1
        ended = time.time()
        # A real shopper on another address is not locked out by the flood.
        product = sellers[4]
        honest = post_events(http, shop.public_key, [{"type": "product_viewed", "product": product.platform_id}],
                             SHOPPER, "shopper-1", "s-shopper")
    windows = windows_spanned(started, ended)
    stored = Event.objects.for_shop(shop).filter(type=EventType.PRODUCT_VIEWED, product=underdog).count()
    per_product = budgets_of("STOREFRONT_PRODUCT_EVENTS_PER_IP_PER_MINUTE")
    assert stored <= per_product * windows, f"{stored} views stored in {windows} window(s)"
    assert stored > 0  # the budget is a ceiling, not a ban
    assert statuses[429] > 500, statuses  # the address's own budget ran out early
    assert set(statuses) <= {202, 429}, statuses
    assert honest.status_code == 202 and honest.json()["accepted"] == 1
    assert bestsellers(shop) == before


def test_spread_flood_is_capped_by_the_address_budget(store, live_server):
    shop, _, _ = store
    products = [f.product(shop, f"Filler {i}") for i in range(40)]
    started = time.time()
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for i in range(300):  # 15,000 events over 40 products, a fresh visitor id on each request
            events = [{"type": "product_viewed", "product": products[(i + j) % 40].platform_id} for j in range(50)]
            post_events(http, shop.public_key, events, ATTACKER, f"bot-{i}", f"s-{i}")
        ended = time.time()
    windows = windows_spanned(started, ended)
    stored = Event.objects.for_shop(shop).count()
    assert 0 < stored <= budgets_of("STOREFRONT_EVENTS_PER_IP_PER_MINUTE") * windows


def test_a_partly_over_budget_batch_keeps_what_fits_and_names_the_rest(store, live_server, settings):
    shop, sellers, _ = store
    settings.STOREFRONT_EVENTS_PER_IP_PER_MINUTE = 7
    events = [{"type": "product_viewed", "product": p.platform_id} for p in sellers] * 2  # 10 events
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        first = post_events(http, shop.public_key, events, ATTACKER, "v-1", "s-1")
        second = post_events(http, shop.public_key, events, ATTACKER, "v-1", "s-1")
    assert first.status_code == 202
    body = first.json()
    assert body["accepted"] == 7
    assert [r["index"] for r in body["rejected"]] == [7, 8, 9]
    assert all("rate limited" in r["reason"] for r in body["rejected"])
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
    assert Event.objects.for_shop(shop).count() == 7


def test_one_visitor_repeating_one_product_is_capped(store, live_server):
    shop, sellers, _ = store
    views = [{"type": "product_viewed", "product": sellers[0].platform_id}] * 25
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        started = time.time()
        answer = post_events(http, shop.public_key, views, SHOPPER, "v-reload", "s-1")
        ended = time.time()
    cap = budgets_of("STOREFRONT_PRODUCT_EVENTS_PER_VISITOR_PER_MINUTE")
    assert answer.status_code == 202
    assert answer.json()["accepted"] <= cap * windows_spanned(started, ended)
    assert {r["reason"] for r in answer.json()["rejected"]} == {"too many events for this product this minute"}


def budgets_of(name: str) -> int:
    return throttle.limit(name)


# --- email capture -------------------------------------------------------------------------------------------------


def post_consent(http, shop, campaign, email: str, ip: str, visitor: str = ""):
    body = {"key": shop.public_key, "campaign": campaign.pk, "email": email, "consent": True,
            "text": COPY["en"]["consent"], "locale": "en", "visitor": visitor}
    return http.post("/api/storefront/popup/consent", content=json.dumps(body),
                     headers={"Content-Type": "text/plain", "X-Forwarded-For": ip})


def test_junk_email_flood_is_throttled_per_address_and_per_visitor(store, live_server):
    shop, _, _ = store
    campaign = make_campaign(shop, email_capture=True)
    per_ip = budgets_of("STOREFRONT_CONSENTS_PER_IP_PER_HOUR")
    per_visitor = budgets_of("STOREFRONT_CONSENTS_PER_VISITOR_PER_HOUR")
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        flood = [post_consent(http, shop, campaign, f"junk{i}@example.com", ATTACKER) for i in range(49)]
        one_visitor = [post_consent(http, shop, campaign, f"me{i}@example.org", SHOPPER, "v-typo")
                       for i in range(per_visitor + 2)]
    codes = Counter(r.status_code for r in flood)
    assert codes == {201: per_ip, 429: 49 - per_ip}, codes
    assert all(r.headers.get("Retry-After") for r in flood if r.status_code == 429)
    assert [r.status_code for r in one_visitor] == [201] * per_visitor + [429, 429]
    assert Consent.objects.for_shop(shop).count() == per_ip + per_visitor


@pytest.mark.parametrize(("email", "reason"), [
    ("not-an-email", "not a valid address"),
    ("x" * 65 + "@example.com", "1-64 characters"),
    ("a@" + "b" * 250 + ".com", "longer than 254"),
    ("root@localhost", "not a valid address"),
    ("ops@[127.0.0.1]", "not a public domain"),
    ("", "email missing"),
])
def test_invalid_emails_are_400_with_a_reason(store, live_server, email, reason):
    shop, _, _ = store
    campaign = make_campaign(shop, email_capture=True)
    before = all_rows()
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        answer = post_consent(http, shop, campaign, email, SHOPPER, f"v-{uuid.uuid4().hex[:8]}")
    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["error"]
    assert all_rows() == before


# --- the counters themselves ---------------------------------------------------------------------------------------


CACHE_BACKENDS = {
    "memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "budget-test"},
    "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "budget_test_cache"},
}


@pytest.mark.parametrize("backend", ["memory", "database", "redis"])
def test_counters_are_atomic_across_threads(backend, settings, transactional_db):
    """Eight threads adding at once lose no increment and never see the same total twice."""
    if backend == "redis":
        if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
            pytest.skip("needs REDIS_URL")
        config = {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex[:10]}"}
    else:
        config = CACHE_BACKENDS[backend]
    settings.CACHES = {**settings.CACHES, "default": config}
    if backend == "database":
        call_command("createcachetable", "budget_test_cache", verbosity=0)
    key = f"budget-test:{uuid.uuid4().hex}"
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(25):
                (total,) = throttle.add_weights([(key, 2)], 60)
                with lock:
                    seen.append(total)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(2, 8 * 25 * 2 + 1, 2))
