"""The WordPress plugin's PHP (php-cli, php/harness.php) talking over real HTTP to the live app, inside a stand-in
store whose API keys are its woocommerce_api_keys table: config freshness, keys and coupons on disconnect."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from backend.popups import codes
from backend.popups.models import DiscountCode
from backend.shops.models import Shop
from tests.integrations.woocommerce.test_connect import connect_in_browser
from tests.popups.factories import make_campaign

HARNESS = Path(__file__).parent / "php" / "harness.php"
PHP = shutil.which("php")
pytestmark = pytest.mark.skipif(PHP is None,
                                reason="php-cli missing: `apt-get install -y php-cli` (make setup does it)")


class Site:
    """One WordPress site running the plugin: its options persist between requests (a JSON file)."""

    def __init__(self, tmp_path: Path, standin, app_url: str, ttl: int = 60) -> None:
        self.env = {**os.environ, "PZ_STATE": str(tmp_path / "site.json"), "PZ_REAL_HTTP": "1",
                    "PZ_STORE": standin.url, "PZ_HOME": standin.url, "PZ_TTL": str(ttl), "PZ_USER": "0"}
        self.app_url = app_url

    def run(self, mode: str) -> str:
        result = subprocess.run([PHP, str(HARNESS), mode, "{}", self.app_url], capture_output=True, text=True,
                                env=self.env, timeout=60, check=False)
        assert result.returncode == 0 and "Warning" not in result.stderr, result.stdout + result.stderr
        return result.stdout

    def popups_attribute(self) -> str:
        return re.search(r'data-popups="([^"]*)"', self.run("tag"))[1]


@pytest.fixture
def connected(transactional_db, live_server, standin, woo_settings, eager_celery):
    woo_settings.APP_URL = live_server.url
    connect_in_browser(live_server, standin)
    return Shop.objects.get(platform=Shop.Platform.WOOCOMMERCE)


def test_a_new_campaign_reaches_the_storefront_without_a_click(connected, standin, live_server, tmp_path):
    site = Site(tmp_path, standin, live_server.url, ttl=1)
    assert json.loads(site.run("refresh"))["ok"]  # what "Check connection" did once, after connecting
    assert site.popups_attribute() == ""
    make_campaign(connected)  # the merchant starts an exit-intent campaign in the app
    time.sleep(1.2)
    site.popups_attribute()  # served from the cache, which is refreshed once this page is done
    assert site.popups_attribute() == "1"


def test_a_reconnect_leaves_one_live_key(connected, standin, live_server, tmp_path):
    connect_in_browser(live_server, standin)  # the merchant connects again: wc-auth makes another key
    assert len(standin.our_keys()) == 2
    connected.refresh_from_db()
    site = Site(tmp_path, standin, live_server.url)
    assert json.loads(site.run("refresh"))["ok"]
    assert [k.consumer_key for k in standin.our_keys()] == [connected.access_token]


def test_disconnecting_in_wordpress_removes_keys_webhooks_and_unused_coupons(connected, standin, live_server,
                                                                           tmp_path):
    campaign = make_campaign(connected, pool_size=2, code_ttl_hours=24)
    codes.refill(campaign)
    ours = list(DiscountCode.objects.for_shop(connected))
    assert len(standin.coupons) == len(ours) == 6 and standin.webhooks
    used_in_store = ours[0]  # an order used it; we have not seen that order yet
    standin.use_coupon(used_in_store.code)
    known_used = ours[1]
    DiscountCode.objects.for_shop(connected).filter(pk=known_used.pk).update(status=DiscountCode.Status.USED)

    site = Site(tmp_path, standin, live_server.url)
    assert json.loads(site.run("refresh"))["ok"]
    assert json.loads(site.run("disconnect"))["ok"]

    assert standin.our_keys() == [] and standin.webhooks == {}
    assert {c["code"] for c in standin.coupons.values()} == {used_in_store.code.lower(), known_used.code.lower()}
    connected.refresh_from_db()
    assert not connected.is_active
    page = site.run("block-cart")
    assert "data-personalize-widget" not in page and 'type="module"' not in page


def test_disconnecting_in_the_app_removes_the_key_on_the_next_refresh(connected, standin, live_server, tmp_path):
    """The app cannot delete a REST key (WooCommerce's API has no endpoint for keys): the plugin learns of the
    disconnect on its next config refresh (410) and deletes the key the app used."""
    from integrations.woocommerce.auth import disconnect

    site = Site(tmp_path, standin, live_server.url, ttl=1)
    assert json.loads(site.run("refresh"))["ok"]
    assert "data-personalize-widget" in site.run("block-cart")
    disconnect(connected)  # the merchant pressed Disconnect in the app
    assert standin.webhooks == {} and len(standin.our_keys()) == 1
    time.sleep(1.2)
    site.run("block-cart")  # the cached config still shows; the refresh after this page learns of the disconnect
    page = site.run("block-cart")
    assert "data-personalize-widget" not in page and 'type="module"' not in page
    assert standin.our_keys() == []
