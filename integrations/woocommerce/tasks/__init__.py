"""Celery tasks for WooCommerce, one module per kind of work (Celery autodiscovers this package)."""
from .sync import *  # noqa: F403
from .webhooks import *  # noqa: F403
