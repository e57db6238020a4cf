"""Sync and reconciliation tasks (queue: sync)."""
