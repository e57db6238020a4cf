"""Run the stand-in on its own: prints META_STANDIN_URL=..., TOKEN=... and ACCOUNT=..., then serves until killed."""
from __future__ import annotations

from .server import MetaStandin

if __name__ == "__main__":
    MetaStandin.run_alone()
