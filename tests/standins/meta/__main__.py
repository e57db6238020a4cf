"""Run the stand-in on its own: prints META_STANDIN_URL=..., TOKEN=... and ACCOUNT=..., then serves until killed."""
from __future__ import annotations

import argparse
import threading

from .server import MetaStandin


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.parse_args()
    server = MetaStandin().start()
    print(f"META_STANDIN_URL={server.url}", flush=True)
    print(f"TOKEN={server.token}", flush=True)
    print(f"ACCOUNT={server.account_id}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
