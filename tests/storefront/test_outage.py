"""The storefront with its Redis killed (a real redis-server of the test's own, SIGKILLed mid-test): widgets a worker
holds keep being served, the rest is a JSON 503 with Retry-After, events are still stored, the admin says so, and
nothing answers Django's HTML 500."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from shopify_app.verify.app_proxy import _generate_param_string

from backend.core import health
from backend.events.models import Event
from backend.storefront import hotcache, views
from tests.dashboard.factories import session_token
from tests.outage import RedisServer, needs_redis_server, redis_cache_settings
from tests.storefront.factories import make_product

pytestmark = [pytest.mark.django_db, needs_redis_server]

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}
ORIGIN = "https://alpha.myshopify.com"


@pytest.fixture
def redis(settings, monkeypatch):
    """The app's cache on a Redis of this test's own; the worker's memos expire in a blink, so every request
    after the kill really asks the dead Redis first."""
    server = RedisServer()
    settings.CACHES = redis_cache_settings(server)
    monkeypatch.setattr(hotcache, "VERSION_TTL", 0.2)
    monkeypatch.setattr(views, "LOCAL_TTL", 0.2)
    health.forget_cache_probe()
    yield server
    server.stop()
    health.forget_cache_probe()


@pytest.fixture
def catalog(shop, monkeypatch):
    """Six products the engines answer in order (their ranking is tested elsewhere; here what matters is where the
    payload comes from)."""
    products = [make_product(shop, title=f"P{i}", price=f"{10 + i}.50") for i in range(6)]
    monkeypatch.setattr("backend.recommendations.registry.recommend",
                        lambda s, widget, ctx: [p.pk for p in products if p.pk != ctx.product_id][: ctx.limit])
    return products


def widget(client, name, shop, **params):
    return client.get(f"/api/storefront/widgets/{name}", {"key": shop.public_key, **params}, HTTP_ORIGIN=ORIGIN, **UA)


def events(client, shop, evs, visitor="v-1"):
    body = {"key": shop.public_key, "visitor": visitor, "session": "s-1", "consent": {"analytics": True},
            "events": evs}
    return client.post("/api/storefront/events", json.dumps(body), content_type="text/plain",
                       HTTP_ORIGIN=ORIGIN, **UA)


def assert_json_503(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]


def after_kill(server):
    server.kill()
    time.sleep(0.3)  # past the shortened memos: the next request has to ask Redis


def test_warm_widget_keeps_its_items_after_redis_is_killed(client, shop, catalog, redis):
    warm = widget(client, "bestsellers", shop, visitor="v-1", locale="en")
    assert warm.status_code == 200 and len(warm.json()["items"]) == 6
    after_kill(redis)
    for _ in range(3):
        again = widget(client, "bestsellers", shop, visitor="v-1", locale="en")
        assert again.status_code == 200
        assert again.json() == warm.json()
        assert again["Access-Control-Allow-Origin"] == ORIGIN


def test_a_visitor_keeps_their_experiment_arm_after_redis_is_killed(client, shop, catalog, redis):
    from django.utils import timezone

    from backend.experiments.assignment import Arm, assign
    from backend.experiments.models import Experiment

    exp = Experiment.objects.create(
        shop=shop, name="Title test", target_key="bestsellers", status="running", started_at=timezone.now(),
        arms=[{"key": "control", "weight": 1}, {"key": "copy", "weight": 1, "config": {"title_en": "Hot now"}}])
    arms = [Arm(a["key"], a["weight"]) for a in exp.arms]
    visitor = next(f"v-{i}" for i in range(1000) if assign(exp.salt, f"v-{i}", arms) == "copy")
    warm = widget(client, "bestsellers", shop, visitor=visitor, locale="en")
    assert (warm.json()["variant"], warm.json()["title"]) == ("copy", "Hot now")
    after_kill(redis)
    time.sleep(1.0)  # past the experiments' own one-second memo too
    again = widget(client, "bestsellers", shop, visitor=visitor, locale="en")
    assert again.status_code == 200 and again.json() == warm.json()


def test_cold_widget_is_a_json_503_with_retry_after(client, shop, catalog, redis):
    assert widget(client, "bestsellers", shop).status_code == 200
    after_kill(redis)
    cold = widget(client, "also_bought", shop, product=catalog[0].platform_id)
    assert_json_503(cold)
    assert cold["Access-Control-Allow-Origin"] == ORIGIN  # the script can read why, not a CORS failure
    never_seen = widget(client, "bestsellers", shop, locale="es")  # a payload this worker never held
    assert_json_503(never_seen)


def test_widget_for_a_shop_whose_version_was_never_read_is_a_json_503(client, shop, catalog, redis):
    redis.kill()
    assert_json_503(widget(client, "bestsellers", shop))


def test_events_are_stored_with_a_worker_budget_while_redis_is_down(client, shop, catalog, redis, settings):
    settings.STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE = 6  # budgets count events: three batches of two
    after_kill(redis)
    view = {"type": "product_viewed", "product": catalog[0].platform_id}
    for _ in range(3):
        stored = events(client, shop, [view, {"type": "nonsense"}])
        assert stored.status_code == 202, stored.content[:300]
        assert stored.json()["accepted"] == 1 and stored.json()["rejected"][0]["index"] == 1
    assert Event.objects.for_shop(shop).filter(visitor_id="v-1").count() == 3
    over = events(client, shop, [view])
    assert over.status_code == 429 and int(over["Retry-After"]) > 0  # still a budget, only counted in the worker
    assert Event.objects.for_shop(shop).filter(visitor_id="v-1").count() == 3
    assert events(client, shop, [view], visitor="v-2").status_code == 202


def test_popup_is_a_json_503_with_retry_after(client, shop, redis):
    redis.kill()
    response = client.get("/api/storefront/popup", {"key": shop.public_key, "visitor": "v-1"}, HTTP_ORIGIN=ORIGIN,
                          **UA)  # a browser: crawlers are offered nothing before any cache is asked
    assert_json_503(response)
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_admin_says_the_cache_is_down_in_both_languages(client, shop, redis):
    token = session_token(shop)
    up = client.get(f"/admin/?id_token={token}&lang=en")
    assert up.status_code == 200 and "Cache unavailable" not in up.content.decode()
    redis.kill()
    health.forget_cache_probe()  # the page probes at most every few seconds; don't wait for the memo to lapse
    en = client.get(f"/admin/?id_token={token}&lang=en")
    assert en.status_code == 200
    assert "Cache unavailable:" in en.content.decode()
    es = client.get(f"/admin/?id_token={token}&lang=es")
    assert es.status_code == 200
    assert "Caché no disponible:" in es.content.decode()
    assert "Cache unavailable" not in es.content.decode()
    for screen in ("/admin/widgets/", "/admin/popups/", "/admin/experiments/", "/admin/settings/"):
        page = client.get(f"{screen}?id_token={token}&lang=en")
        assert page.status_code == 200 and "Cache unavailable:" in page.content.decode(), screen


def test_healthz_reports_the_cache(client, shop, redis):
    assert client.get("/healthz").json()["cache"] == "ok"
    redis.kill()
    health.forget_cache_probe()
    down = client.get("/healthz")
    assert down.status_code == 503 and down.json()["cache"].startswith("error")


def _proxy_query(domain, secret, **extra):
    params = {"shop": domain.removesuffix(".myshopify.com"), "path_prefix": "/apps/personalize",
              "timestamp": str(int(time.time())), **extra}
    params["signature"] = hmac.new(secret.encode(), _generate_param_string(params).encode(), hashlib.sha256).hexdigest()
    return params


def test_no_storefront_endpoint_answers_html_500_with_redis_killed(client, shop, catalog, redis, settings):
    assert widget(client, "bestsellers", shop).status_code == 200
    after_kill(redis)
    proxy = _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, locale="en")
    answers = [
        *(widget(client, name, shop, product=catalog[1].platform_id, visitor="v-9")
          for name in ("also_bought", "bestsellers", "recently_viewed")),
        client.get("/api/storefront/proxy/widgets/bestsellers", proxy, **UA),
        client.get("/api/storefront/proxy/popup", proxy, **UA),
        events(client, shop, [{"type": "product_viewed", "product": catalog[2].platform_id}]),
        client.post("/api/storefront/proxy/events?" + "&".join(f"{k}={v}" for k, v in proxy.items()),
                    json.dumps({"events": [{"type": "product_viewed", "product": catalog[2].platform_id}]}),
                    content_type="text/plain", **UA),
        client.post("/api/storefront/popup/consent", json.dumps({"key": shop.public_key, "consent": True,
                    "email": "a@example.com", "campaign": 1, "locale": "en", "text": "yes"}),
                    content_type="text/plain", HTTP_ORIGIN=ORIGIN),
        client.get("/healthz"),
    ]
    for response in answers:
        assert response.status_code < 500 or response.status_code == 503, response.content[:300]
        assert response["Content-Type"] == "application/json", response.content[:300]
        if response.status_code == 503:
            assert int(response["Retry-After"]) > 0


def test_a_redis_that_stops_answering_costs_one_short_timeout_not_one_per_request(client, shop, catalog, redis):
    """SIGSTOP: the port still accepts, nothing answers. Without client timeouts each request would hang for
    redis-py's default 5 s; with them the first pays about a second and the next skip Redis for a few seconds."""
    warm = widget(client, "bestsellers", shop)
    redis.freeze()
    time.sleep(0.3)
    started = time.monotonic()
    first = widget(client, "bestsellers", shop)
    first_took = time.monotonic() - started
    assert first.status_code == 200 and first.json() == warm.json()
    assert first_took < 2.5, first_took
    started = time.monotonic()
    for _ in range(5):
        time.sleep(0.25)  # past the shortened memos each time
        assert widget(client, "bestsellers", shop).status_code == 200
    assert time.monotonic() - started - 5 * 0.25 < 0.5
