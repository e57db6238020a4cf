"""Home's sync card moves while a sync runs: its figure comes from the run's checkpoints, polled by the page."""
from __future__ import annotations

import pytest

from backend.shops.models import SyncRun
from integrations.shopify.sync import run_sync, start_full_sync
from tests.dashboard.factories import member, session_token
from tests.integrations.shopify.sync_support import shopify_standin, standin, standin_shop  # noqa: F401
from tests.widgets.browser import chromium


def test_the_percentage_climbs_through_a_real_shopify_sync(client, standin, standin_shop):  # noqa: F811
    """At every checkpoint of a full sync against the Shopify stand-in, the admin's sync API (what Home polls,
    embedded: session token, Spanish) says how far it is: it climbs stage by stage instead of jumping to 99 %
    once the first (small) stage is done, and never goes back."""
    seen: list[dict] = []

    def ask(_run: SyncRun) -> None:
        response = client.get("/api/admin/sync?lang=es", HTTP_AUTHORIZATION=f"Bearer {session_token(standin_shop)}",
                              HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        seen.append(response.json())

    run = start_full_sync(standin_shop, enqueue=False)
    run_sync(standin_shop, run, poll_interval=0.05, batch_size=8, progress=ask)
    figures = [s["percent"] for s in seen]
    assert figures == sorted(figures), figures
    assert len({f for f in figures if 0 < f < 100}) >= 4, figures
    assert max(f for f in figures if f < 100) < 100 and figures[-1] == 100
    after_collections = next(s for s in seen if s["text"].startswith("En curso: Productos"))
    assert after_collections["percent"] <= 30, "the collections alone are a quarter of the way, not 99 %"
    assert {"En curso: Clientes", "En curso: Pedidos"} <= {s["text"].split(" · ")[0] for s in seen}
    assert seen[-1] == {"status": "done", "percent": 100, "text": "Hecho · 100%"}


@pytest.mark.django_db
def test_the_sync_api_needs_a_shop_and_a_run(client, shop):
    assert client.get("/api/admin/sync", HTTP_ACCEPT="application/json").status_code == 401
    token = session_token(shop)
    assert client.get("/api/admin/sync", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
    SyncRun.objects.create(shop=shop, status=SyncRun.Status.FAILED, error="boom")
    body = client.get("/api/admin/sync?lang=en", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body == {"status": "failed", "percent": 0, "text": "Failed · 0%"}
    # WooCommerce counts everything first: rows done of rows total, whatever stage it is in.
    SyncRun.objects.create(shop=shop, rows_done=30, rows_total=120, stages={
        "products": {"state": "done", "total": 20}, "customers": {"state": "running", "total": 100}})
    body = client.get("/api/admin/sync?lang=en", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body == {"status": "running", "percent": 25, "text": "Running: Customers · 25%"}


@pytest.mark.browser
@pytest.mark.xdist_group("cockpit")
@pytest.mark.django_db(transaction=True)
def test_the_bar_moves_on_the_open_page(live_server):
    """Home stays open while the sync's checkpoints advance: the bar and its words follow without a reload."""
    from backend.demostore.sample import seed_store

    lang = "es"  # English words: the API tests

    shop = seed_store(domain=f"sync-bar-{lang}.myshopify.com").shop
    member(shop, username=f"ana-{lang}@example.com")
    stages = {s: {"state": "pending"} for s in ("collections", "products", "customers", "orders")}
    stages["collections"] = {"state": "done"}
    stages["products"] = {"state": "downloading", "objects": 400, "lines_done": 0}
    run = SyncRun.objects.create(shop=shop, stages=stages, rows_done=10, rows_total=410)
    words = ("En curso: Productos", "Hecho")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{live_server.url}/admin/login/?lang={lang}")
        page.fill("#username", f"ana-{lang}@example.com")
        page.fill("#password", "correct horse 42")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/**")
        page.goto(f"{live_server.url}/admin/?lang={lang}")
        bar = page.locator("#sync [role=progressbar]")
        assert bar.get_attribute("aria-valuenow") == "25"
        assert page.locator("#sync-text").inner_text() == f"{words[0]} · 25%"

        run.stages["products"]["lines_done"] = 200  # half the products applied
        run.save(update_fields=["stages"])
        page.wait_for_function("() => document.querySelector('#sync [role=progressbar]').ariaValueNow === '37'")
        assert page.locator("#sync-text").inner_text() == f"{words[0]} · 37%"

        run.status = SyncRun.Status.DONE
        run.save(update_fields=["status"])
        page.wait_for_selector(f"#sync-text:text-is('{words[1]} · 100%')")
        assert bar.get_attribute("aria-valuenow") == "100"
        assert page.locator("#sync .bar > span").evaluate("e => e.style.width") == "100%"


def test_the_current_stage_follows_the_sync_order_not_the_stored_key_order():
    """PostgreSQL's jsonb returns keys sorted by length ("orders" before "products"): the stage named is still the
    first one the sync has not finished."""
    stages = {"orders": {"state": "pending"}, "products": {"state": "downloading"},
              "customers": {"state": "pending"}, "collections": {"state": "done"}}
    assert SyncRun(stages=stages).current_stage == "products"
    stages["products"]["state"] = "done"
    assert SyncRun(stages=stages).current_stage == "customers"
