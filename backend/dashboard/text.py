"""Kept for the popup screens, which still import page_lang from here; the words are in locale/ (gettext)."""
from __future__ import annotations

from .language import LANGS, page_lang

__all__ = ["LANGS", "page_lang"]
