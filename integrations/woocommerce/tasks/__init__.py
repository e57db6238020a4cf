"""Celery tasks for WooCommerce."""
