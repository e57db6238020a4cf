"""A local WooCommerce store (REST API v3, wc-auth, webhooks) for tests, the demo and benchmarks."""
from .server import ApiKey, Delivery, WooStandin
from .store import Store, StoreSize

__all__ = ["ApiKey", "Delivery", "Store", "StoreSize", "WooStandin"]
