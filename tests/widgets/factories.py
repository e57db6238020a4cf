"""The browser tests' store is the demo store's deterministic sample (shared with bench/bench_lighthouse.py)."""
from backend.demostore.sample import CATALOG, XSS_TITLE, Store, seed_store

__all__ = ["CATALOG", "XSS_TITLE", "Store", "seed_store"]
