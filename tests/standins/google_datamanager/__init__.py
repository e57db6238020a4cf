"""A local Google Data Manager API (user lists and audience member ingestion; see server.py)."""
from .server import DataManagerStandin

__all__ = ["DataManagerStandin"]
