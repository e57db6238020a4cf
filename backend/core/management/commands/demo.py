"""`manage.py demo`: the whole product on one machine, for a newcomer.

1. migrate the (SQLite) database;
2. start the Shopify stand-in store (tests/standins/shopify, its own process);
3. start the app on http://127.0.0.1:PORT (runserver, its own process; Celery runs tasks in-process);
4. install the app into the stand-in shop through the real non-embedded flow: the signed install link Shopify's
   admin would open, our redirect to the shop's authorize page, the stand-in's redirect back to our callback
   (which exchanges the code and runs the first sync);
5. print the URLs and keep everything running until Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_SHOP = "demo.myshopify.com"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = "Run the demo: stand-in Shopify store, the app at http://127.0.0.1:8000, installed and synced"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
        parser.add_argument("--products", type=int, default=120, help="size of the stand-in store's catalog")
        parser.add_argument("--orders", type=int, default=600)
        parser.add_argument("--no-woocommerce", action="store_true", help="skip the WooCommerce stand-in store")

    def handle(self, *args, **opts) -> None:
        port = opts["port"] or _free_port()
        app_url = f"http://127.0.0.1:{port}"
        root = Path(settings.BASE_DIR)
        (root / "var").mkdir(exist_ok=True)
        call_command("migrate", verbosity=0, interactive=False)
        children: list[subprocess.Popen] = []
        # SIGTERM (e.g. from a supervisor) stops the demo as cleanly as Ctrl-C: the children go with it.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            standin_url = self._start_standin(children, app_url, opts)
            self._start_app(children, port, standin_url)
            self._wait_for(f"{app_url}/healthz", children)
            self._install(app_url, standin_url)
            self._report(app_url)
            if not opts["no_woocommerce"]:
                self._connect_woocommerce(children, app_url)
            self.stdout.write("Press Ctrl-C to stop.")
            while all(c.poll() is None for c in children):
                time.sleep(0.5)
            raise CommandError("a demo process exited; see the output above")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping.")
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    # --- steps ---------------------------------------------------------------------------------------------------

    def _start_standin(self, children: list, app_url: str, opts: dict) -> str:
        cmd = [
            sys.executable, "-m", "tests.standins.shopify", "--port", "0", "--shop", DEMO_SHOP,
            "--api-key", settings.SHOPIFY_API_KEY, "--api-secret", settings.SHOPIFY_API_SECRET,
            "--app-url", app_url, "--webhook-url", f"{app_url}/shopify/webhooks",
            "--products", str(opts["products"]), "--orders", str(opts["orders"]),
            "--customers", str(max(50, opts["orders"] // 3)), "--api-version", settings.SHOPIFY_API_VERSION,
        ]
        proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True,  # noqa: S603
                                bufsize=1)
        children.append(proc)
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise CommandError("the Shopify stand-in did not start")
            if line.startswith("SHOPIFY_STANDIN_URL="):
                url = line.split("=", 1)[1].strip()
                self.stdout.write(f"Shopify stand-in: {url} (shop {DEMO_SHOP})")
                # Our own calls from this process (the install walk below) go to the stand-in too.
                settings.SHOPIFY_STANDIN_URL = url
                return url
        raise CommandError("timed out waiting for the Shopify stand-in")

    def _start_app(self, children: list, port: int, standin_url: str) -> None:
        env = {**os.environ, "SHOPIFY_STANDIN_URL": standin_url, "APP_URL": f"http://127.0.0.1:{port}",
               # The demo's WooCommerce store is a stand-in on 127.0.0.1, which production refuses to connect to.
               "WOOCOMMERCE_ALLOW_LOOPBACK_STORES": "1"}
        # The demo runs Celery tasks in-process: no broker needed.
        for name in ("REDIS_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        cmd = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        children.append(subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env))  # noqa: S603 - our own argv

    def _wait_for(self, url: str, children: list, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c.poll() is not None for c in children):
                raise CommandError("a demo process exited during startup")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise CommandError(f"{url} did not answer in {timeout:.0f}s")

    def _install(self, app_url: str, standin_url: str) -> None:
        """Walk the authorization code grant like a merchant's browser, one redirect at a time."""
        from integrations.shopify.http import shopify_client
        from integrations.shopify.oauth import sign_query

        params = {"shop": DEMO_SHOP, "timestamp": str(int(time.time()))}
        params["hmac"] = sign_query(params)  # what Shopify's admin puts on the install link
        url = f"{app_url}/shopify/install?{urlencode(params)}"
        self.stdout.write("Installing the app into the stand-in shop (OAuth), then the first sync...")
        with shopify_client(timeout=httpx.Timeout(600.0, connect=5.0)) as http:
            for _ in range(5):
                response = http.get(url)
                if response.status_code != 302:
                    raise CommandError(f"install step {url} answered {response.status_code}: {response.text[:300]}")
                url = response.headers["location"]
                if urlsplit(url).path.startswith("/admin/apps/"):
                    return  # our callback sent the merchant back to the shop's admin: installed and synced
        raise CommandError("the install flow did not finish")

    def _connect_woocommerce(self, children: list, app_url: str) -> None:
        """A second demo store on WooCommerce, connected through the real wc-auth flow by its own process."""
        cmd = [sys.executable, "manage.py", "woocommerce_standin", "--app-url", app_url]
        proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True,  # noqa: S603
                                bufsize=1)
        children.append(proc)
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                self.stdout.write(self.style.WARNING("the WooCommerce stand-in store did not connect"))
                return
            self.stdout.write(line.rstrip())
            if line.startswith("Connected"):
                from backend.shops.models import Shop

                woo = Shop.objects.filter(platform=Shop.Platform.WOOCOMMERCE).order_by("-pk").first()
                if woo is not None:
                    self.stdout.write(f"WooCommerce demo storefront: {app_url}/demo/{woo.domain}/")
                return

    def _report(self, app_url: str) -> None:
        from backend.catalog.models import Product
        from backend.customers.models import Customer
        from backend.orders.models import Order
        from backend.shops.models import Shop, SyncRun

        shop = Shop.objects.get(platform=Shop.Platform.SHOPIFY, domain=DEMO_SHOP)
        run = SyncRun.objects.for_shop(shop).order_by("-started_at").first()
        self.stdout.write(self.style.SUCCESS(
            f"Installed {DEMO_SHOP}; first sync {run.status if run else 'not started'}: "
            f"{Product.objects.for_shop(shop).count()} products, {Customer.objects.for_shop(shop).count()} customers, "
            f"{Order.objects.for_shop(shop).count()} orders."
        ))
        from backend.dashboard.auth import login_token

        # A one-time sign-in link: outside Shopify's admin there is no session token to authenticate with.
        self.stdout.write(f"Admin:            {app_url}/admin/login/link?token={login_token(shop, actor='demo')}")
        self.stdout.write(f"Demo storefront:  {app_url}/demo/{DEMO_SHOP}/")
        self.stdout.write(f"Health:           {app_url}/healthz")
