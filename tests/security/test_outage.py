"""Black box: the app as a real HTTP server (live_server) on a Redis of the test's own, which is SIGKILLed while
shoppers and the merchant keep calling. Whatever the worker holds is served, the rest is a JSON 503 with
Retry-After, events are stored, the admin says the cache is down; no answer is Django's HTML 500."""
from __future__ import annotations

import json
import time

import pytest
import requests

from backend.core import health
from backend.events.models import Event
from backend.storefront.models import AllowedOrigin
from tests.dashboard.factories import session_token
from tests.outage import RedisServer, needs_redis_server, redis_cache_settings
from tests.storefront.factories import make_order, make_product

pytestmark = needs_redis_server

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


@pytest.fixture
def redis(settings):
    server = RedisServer()
    settings.CACHES = redis_cache_settings(server)
    health.forget_cache_probe()
    yield server
    server.stop()
    health.forget_cache_probe()


def test_redis_killed_mid_traffic_degrades_to_memory_and_json_503(redis, live_server, shop):
    jacket, hat, socks = (make_product(shop, title=t) for t in ("Jacket", "Hat", "Socks"))
    for _ in range(3):
        make_order(shop, [jacket, hat], record=True)
    make_order(shop, [socks], record=True)
    AllowedOrigin.objects.create(shop=shop, origin=live_server.url.lower())
    api = f"{live_server.url}/api/storefront"
    http = requests.Session()
    http.headers.update({"User-Agent": UA, "Origin": live_server.url})

    def widget(name, **params):
        return http.get(f"{api}/widgets/{name}", params={"key": shop.public_key, **params}, timeout=10)

    warm = widget("bestsellers", locale="en")
    assert warm.status_code == 200
    assert [i["id"] for i in warm.json()["items"]][:2] == [jacket.platform_id, hat.platform_id]

    redis.kill()
    time.sleep(1.2)  # past the worker's one-second memo of the rule version: the next request asks the dead Redis

    answers = {}
    answers["warm"] = widget("bestsellers", locale="en")
    answers["cold"] = widget("also_bought", product=jacket.platform_id)
    answers["events"] = http.post(f"{api}/events", timeout=10, headers={"Content-Type": "text/plain"}, data=json.dumps({
        "key": shop.public_key, "visitor": "v-1", "session": "s-1", "consent": {"analytics": True},
        "events": [{"type": "product_viewed", "product": jacket.platform_id},
                   {"type": "added_to_cart", "product": hat.platform_id}]}))
    answers["popup"] = http.get(f"{api}/popup", params={"key": shop.public_key, "visitor": "v-1"}, timeout=10)
    answers["healthz"] = http.get(f"{live_server.url}/healthz", timeout=10)

    assert answers["warm"].status_code == 200 and answers["warm"].json() == warm.json()
    assert answers["events"].status_code == 202 and answers["events"].json()["accepted"] == 2
    assert Event.objects.for_shop(shop).filter(visitor_id="v-1").count() == 2
    for name in ("cold", "popup", "healthz"):
        assert answers[name].status_code == 503, name
        assert int(answers[name].headers["Retry-After"]) > 0, name
    for name, response in answers.items():
        assert response.headers["Content-Type"] == "application/json", name
        assert response.status_code != 500, name
    assert answers["cold"].headers["Access-Control-Allow-Origin"] == live_server.url

    token = session_token(shop)
    for lang, notice in (("en", "Cache unavailable:"), ("es", "Caché no disponible:")):
        page = requests.get(f"{live_server.url}/admin/", params={"id_token": token, "lang": lang}, timeout=10)
        assert page.status_code == 200, page.text[:300]
        assert notice in page.text
