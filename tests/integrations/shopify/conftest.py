"""Fixtures shared by the Shopify integration tests (webhooks: tests/integrations/shopify/webhook_support.py)."""
from .sync_support import shopify_standin, standin, standin_shop  # noqa: F401  (install and sync tests)
from .webhook_support import dispatcher, eager_celery, standin_store, webhook_standin  # noqa: F401
