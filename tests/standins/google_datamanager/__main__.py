"""Run the stand-in on its own: prints GOOGLE_STANDIN_URL=..., TOKEN=... and ACCOUNT=..., then serves until killed."""
from __future__ import annotations

from .server import DataManagerStandin

if __name__ == "__main__":
    DataManagerStandin.run_alone()
