"""Webhook processing tasks (queue: webhooks)."""
