"""Run the WooCommerce stand-in on its own: `python -m tests.standins.woocommerce --products 20000 --orders 100000`.

Prints one JSON line (url, consumer_key, consumer_secret, cert_file) once it listens, then serves until killed.
Used by bench/bench_woocommerce_sync.py (the store runs in its own process, as a real one would) and the demo.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from .server import WooStandin
from .store import StoreSize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=60)
    ap.add_argument("--customers", type=int, default=40)
    ap.add_argument("--orders", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tls", action="store_true", help="serve https with a self-signed certificate (Basic auth)")
    ap.add_argument("--rate", type=float, nargs=2, metavar=("BURST", "PER_SECOND"), default=None)
    args = ap.parse_args()
    standin = WooStandin(StoreSize(args.products, args.customers, args.orders), seed=args.seed, tls=args.tls,
                         rate_limit=tuple(args.rate) if args.rate else None).start()
    key = standin.create_key()
    sys.stdout.write(json.dumps({"url": standin.url, "consumer_key": key.consumer_key,
                                 "consumer_secret": key.consumer_secret, "cert_file": standin.cert_file}) + "\n")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    standin.stop()


if __name__ == "__main__":
    main()
