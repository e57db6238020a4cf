"""Fixtures shared by the Shopify integration tests (webhooks: tests/integrations/shopify/webhook_support.py)."""
from .webhook_support import dispatcher, eager_celery, standin_store, webhook_standin  # noqa: F401
