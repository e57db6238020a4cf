"""Issue 10 finding 2, run as the attacker ran it: one address, a fresh visitor id per request, as fast as it goes.

The app is served over real HTTP (pytest-django's live server, the same WSGI stack as production), the shop is
installed on the Shopify stand-in, which counts every discount code the app creates on it. The attack speaks only
HTTP; the database and the stand-in are read afterwards to check that nothing past the budgets was handed out or
created.
"""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from backend.popups import codes
from backend.popups.models import Claim, DiscountCode
from tests.integrations.shopify import sync_support
from tests.popups.factories import make_campaign

# The stand-in's fixtures, for this module (a conftest here would be shared with other security tests).
shopify_standin, standin, standin_shop = sync_support.shopify_standin, sync_support.standin, sync_support.standin_shop

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
BURST = 1000
PER_IP = 4
PER_DAY = 12


@pytest.fixture
def eager_celery():
    """Refills run in the server's request thread even when a broker is configured: the test is the worker."""
    from backend.config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def call(url: str, body: dict | None = None, agent: str = BROWSER) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, headers={"User-Agent": agent, "Content-Type": "text/plain"})
    try:
        with urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


@pytest.fixture
def farmed(live_server, standin, standin_shop, eager_celery):
    from django.core.cache import cache

    cache.clear()
    campaign = make_campaign(standin_shop, offer_rules=[], default_offer={"kind": "percent", "value": 10},
                             pool_size=5, codes_per_ip_per_day=PER_IP, codes_per_day=PER_DAY)
    codes.refill(campaign)  # the pool as the beat job leaves it
    return campaign


def test_a_burst_of_fresh_visitors_from_one_address_gets_the_ip_budget_and_no_more(live_server, standin,
                                                                                  standin_shop, farmed):
    api = f"{live_server.url}/api/storefront"
    key = standin_shop.public_key
    run = uuid.uuid4().hex[:8]

    def visit(n: int) -> dict:
        visitor = f"farm-{run}-{n:04d}"
        status, shown, _ = call(f"{api}/popup?" + urlencode({"key": key, "visitor": visitor, "locale": "en"}))
        got = {"get": status, "get_code": (shown.get("offer") or {}).get("code")}
        # The attacker claims whether or not the popup was offered: the budget must hold on the claim itself.
        status, body, headers = call(f"{api}/popup/claim", {"key": key, "campaign": farmed.pk, "visitor": visitor,
                                                            "locale": "en"})
        got.update(claim=status, code=(body.get("offer") or {}).get("code"), retry=headers.get("Retry-After"))
        return got

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(visit, range(BURST)))

    assert all(r["get"] == 200 for r in results)
    assert not any(r["get_code"] for r in results), "GET /popup hands out no code any more"
    handed = {r["code"] for r in results if r["code"]}
    ok = [r for r in results if r["claim"] == 200]
    refused = [r for r in results if r["claim"] == 429]
    assert len(handed) == len(ok) == PER_IP, (len(handed), len(ok))
    assert len(refused) == BURST - PER_IP, {r["claim"] for r in results}
    assert all(r["retry"] and int(r["retry"]) > 0 for r in refused), "a refusal says when to come back"

    # The database agrees: exactly the handed codes are assigned, one claim each.
    assigned = set(DiscountCode.objects.for_shop(standin_shop).exclude(visitor_id="").values_list("code", flat=True))
    assert assigned == handed
    assert Claim.objects.for_shop(standin_shop).count() == PER_IP
    # The platform was asked for no more than the campaign's daily cap (the pool refilled once, within it).
    on_platform = standin.shops[standin_shop.domain].discount_codes
    assert len(on_platform) <= PER_DAY, len(on_platform)
    assert len(on_platform) > 5, "the claims did drain the pool below half, so a refill ran"

    # One more try changes nothing.
    before = sorted(DiscountCode.objects.for_shop(standin_shop).values_list("code", "status", "visitor_id"))
    status, body, _ = call(f"{api}/popup/claim", {"key": key, "campaign": farmed.pk, "visitor": f"late-{run}",
                                                  "locale": "en"})
    assert status == 429 and "address" in body["error"]
    assert sorted(DiscountCode.objects.for_shop(standin_shop).values_list("code", "status", "visitor_id")) == before


def test_a_script_that_names_itself_gets_no_popup_and_no_code(live_server, standin_shop, farmed):
    api = f"{live_server.url}/api/storefront"
    query = urlencode({"key": standin_shop.public_key, "visitor": "bot-visitor-1"})
    status, shown, _ = call(f"{api}/popup?{query}", agent="python-requests/2.32")
    assert status == 200 and shown == {"campaign": None}
    status, body, _ = call(f"{api}/popup/claim", {"key": standin_shop.public_key, "campaign": farmed.pk,
                                                  "visitor": "bot-visitor-1"}, agent="python-requests/2.32")
    assert status == 403
    assert not Claim.objects.for_shop(standin_shop).exists()
    assert not DiscountCode.objects.for_shop(standin_shop).exclude(visitor_id="").exists()
