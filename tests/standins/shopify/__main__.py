"""Run the stand-in on its own (used by `make demo`).

    python -m tests.standins.shopify --port 8001 --shop demo.myshopify.com

Prints `SHOPIFY_STANDIN_URL=http://127.0.0.1:<port>` once it listens, then serves until SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .standin import DEFAULT_SCOPES, ShopifyStandin
from .store import StoreSize
from .webhooks import SHOPIFY_RETRY_DELAYS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.standins.shopify", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--shop", action="append", default=[], help="a shop domain (repeatable)")
    parser.add_argument("--api-key", default="standin-api-key")
    parser.add_argument("--api-secret", default="standin-api-secret-0123456789abcdef")
    parser.add_argument("--app-url", default="http://127.0.0.1:8000")
    parser.add_argument("--webhook-url", default=None, help="where webhooks are POSTed (none: no webhooks)")
    parser.add_argument("--compliance-webhook-url", default=None)
    parser.add_argument("--scopes", default=None, help=f"default: the app config's, else {DEFAULT_SCOPES}")
    parser.add_argument("--app-config", default=None,
                        help="the app's shopify.app.toml: deliver only its subscribed topics, grant its scopes")
    parser.add_argument("--api-version", default="2026-10")
    parser.add_argument("--products", type=int, default=StoreSize.products)
    parser.add_argument("--variants-per-product", type=float, default=StoreSize.variants_per_product)
    parser.add_argument("--customers", type=int, default=StoreSize.customers)
    parser.add_argument("--orders", type=int, default=StoreSize.orders)
    parser.add_argument("--lines-per-order", type=float, default=StoreSize.lines_per_order)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token-lifetime", type=float, default=3600.0)
    parser.add_argument("--bucket-size", type=float, default=1000.0)
    parser.add_argument("--restore-rate", type=float, default=50.0)
    parser.add_argument("--retry-delays", default=",".join(str(int(d)) for d in SHOPIFY_RETRY_DELAYS),
                        help="comma-separated seconds between webhook retries")
    parser.add_argument("--bulk-duration", type=float, default=1.0, help="seconds a bulk operation stays RUNNING")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s shopify-standin %(levelname)s %(message)s")
    size = StoreSize(products=args.products, variants_per_product=args.variants_per_product,
                     customers=args.customers, orders=args.orders, lines_per_order=args.lines_per_order)
    standin = ShopifyStandin(
        args.api_key, args.api_secret, app_url=args.app_url, webhook_url=args.webhook_url,
        compliance_webhook_url=args.compliance_webhook_url, scopes=args.scopes, app_config=args.app_config,
        size=size, seed=args.seed,
        api_version=args.api_version, token_lifetime=args.token_lifetime, bucket_size=args.bucket_size,
        restore_rate=args.restore_rate, bulk_duration=args.bulk_duration, host=args.host, port=args.port,
        retry_delays=tuple(float(x) for x in args.retry_delays.split(",") if x.strip()))
    for domain in args.shop or ["demo.myshopify.com"]:
        standin.add_shop(domain)
    standin.start()
    # Offline, a browser can't reach Shopify's CDN: the demo's pictures come from the stand-in itself.
    for state in standin.shops.values():
        state.store.image_base = f"{standin.base_url}/cdn/products"
    print(f"Shopify stand-in listening on {standin.base_url} for {', '.join(standin.shops)}", flush=True)
    print(f"SHOPIFY_STANDIN_URL={standin.base_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
