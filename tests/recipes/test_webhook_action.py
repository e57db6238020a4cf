"""The "call my URL" step against a real local HTTP server: a signed JSON body the receiver can verify, the same
Idempotency-Key on every attempt, retried with backoff after a 5xx, and no calls to private addresses."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from backend.customers.identities import resolve_customer
from backend.recipes import engine, triggers, webhooks
from backend.recipes.models import Recipe, RecipeRun, RecipeSettings
from tests.recipes.factories import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    """A merchant endpoint that answers 503 once, then 200, and keeps every request."""
    got: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(503 if len(got) == 1 else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.got = got
    yield server
    server.shutdown()


def test_signed_call_retried_after_a_5xx_with_the_same_idempotency_key(shop, receiver, settings):
    settings.RECIPES_ALLOW_LOOPBACK_WEBHOOKS = True
    RecipeSettings.objects.create(shop=shop, quiet_start_hour=0, quiet_end_hour=0)  # any hour will do here
    recipe = Recipe.objects.create(shop=shop, key="hook", name="Hook", trigger="cart_abandoned", enabled=True,
                                   steps=[{"after_minutes": 30, "action": "webhook",
                                           "url": f"http://127.0.0.1:{receiver.server_port}/hook"}])
    mug = product(shop, "Mug")
    ana = customer(shop, "ana@example.com")
    run = triggers.enter(recipe, resolve_customer(ana), "cart:1", {"products": [mug.pk]},
                         now=timezone.now() - timedelta(hours=1))
    now = timezone.now()
    assert engine.advance(run.pk, now=now) == engine.WAITING  # 503: again later
    run.refresh_from_db()
    assert run.step == 0 and run.next_due_at > now
    assert engine.advance(run.pk, now=run.next_due_at) == engine.SENT
    run.refresh_from_db()
    assert run.state == RecipeRun.State.DONE

    (first_headers, _), (headers, body) = receiver.got
    assert headers["Idempotency-Key"] == first_headers["Idempotency-Key"] == f"recipe-run-{run.pk}-step-0"
    stamp = headers["X-Personalize-Signature"].split(",")[0].removeprefix("t=")
    assert headers["X-Personalize-Signature"] == webhooks.sign(recipe.webhook_secret, int(stamp), body)
    data = json.loads(body)
    assert data["recipe"] == "hook" and data["customer"]["platform_ids"] == [ana.platform_id]
    assert data["products"] == [mug.platform_id]


def test_private_and_plain_http_addresses_are_refused(settings):
    settings.RECIPES_ALLOW_LOOPBACK_WEBHOOKS = False
    for url in ("http://example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/x", "https://[::1]/x"):
        with pytest.raises(webhooks.WebhookRefused):
            webhooks.check_url(url)
