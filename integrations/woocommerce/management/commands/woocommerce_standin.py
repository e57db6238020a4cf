"""`manage.py woocommerce_standin --app-url http://127.0.0.1:8000`: a demo WooCommerce store, connected for real.

Starts the local WooCommerce stand-in (tests/standins/woocommerce), then plays the merchant against the running
app: opens /woocommerce/connect, submits the store address, approves access on the store's wc-auth page (the store
POSTs its keys to the app's callback) and follows the redirect back. Keeps the store serving (the app syncs from
it and receives its webhooks) until interrupted. The app must allow loopback stores
(WOOCOMMERCE_ALLOW_LOOPBACK_STORES=1, on by default with DEBUG).
"""
from __future__ import annotations

import html
import re
import threading

import requests
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Start a WooCommerce stand-in store and connect it to the running app through wc-auth"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--app-url", default="http://127.0.0.1:8000")
        parser.add_argument("--products", type=int, default=120)
        parser.add_argument("--customers", type=int, default=80)
        parser.add_argument("--orders", type=int, default=600)
        parser.add_argument("--no-wait", action="store_true", help="stop the store once connected (for checks)")

    def handle(self, *args, **opts) -> None:
        from tests.standins.woocommerce import StoreSize, WooStandin

        app = opts["app_url"].rstrip("/")
        store = WooStandin(StoreSize(opts["products"], opts["customers"], opts["orders"])).start()
        self.stdout.write(f"WooCommerce stand-in store: {store.url}")
        try:
            landed = connect(app, store.url)
        except (requests.RequestException, CommandError) as exc:
            store.stop()
            raise CommandError(f"could not connect the store: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Connected: {landed}"))
        if opts["no_wait"]:
            store.stop()
            return
        self.stdout.write("Serving the store; Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            store.stop()


def connect(app: str, store_url: str) -> str:
    """Play the merchant's browser through the connect flow; returns the page the merchant lands on."""
    browser = requests.Session()
    form = browser.get(f"{app}/woocommerce/connect", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise CommandError(f"connect form not available at {app} ({form.status_code})")
    sent = browser.post(f"{app}/woocommerce/connect", data={"store_url": store_url, "csrfmiddlewaretoken": token[1]},
                        headers={"Referer": f"{app}/woocommerce/connect"}, allow_redirects=False, timeout=30)
    if sent.status_code != 302:
        raise CommandError(f"the app refused the store address ({sent.status_code})")
    authorize = browser.get(sent.headers["Location"], timeout=30)
    approve = re.search(r'class="wc-auth-approve" href="([^"]+)"', authorize.text)
    if approve is None:
        raise CommandError(f"no approve link on the store's authorize page: {authorize.text[:200]}")
    # The store POSTs the keys to the app's callback before answering; the app syncs in that time when eager.
    granted = browser.get(store_url + html.unescape(approve[1]), allow_redirects=False, timeout=600)
    if granted.status_code != 302:
        raise CommandError(f"the store could not deliver the keys: {granted.text[:200]}")
    return browser.get(granted.headers["Location"], timeout=30).url
