"""Shared fixtures: shops and a factory per app live in tests/factories.py."""
from __future__ import annotations

import pytest


@pytest.fixture
def shop(db):
    from tests.factories import make_shop

    return make_shop("alpha.myshopify.com")


@pytest.fixture
def other_shop(db):
    from tests.factories import make_shop

    return make_shop("beta.myshopify.com")
