"""A local Meta Graph API for customer-list Custom Audiences (see server.py)."""
from .server import MetaStandin

__all__ = ["MetaStandin"]
