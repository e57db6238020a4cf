"""Every GraphQL document the app sends validates against Shopify's published Admin schema."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from integrations.shopify import documents

SCHEMA = Path(__file__).resolve().parents[4] / "shared" / "shopify" / "admin-2025-04.graphql.gz"

pytestmark = pytest.mark.shared


@lru_cache(maxsize=1)
def schema():
    if not SCHEMA.exists():
        pytest.skip(f"Shopify schema not found at {SCHEMA} (../shared/ is absent on this machine)")
    return build_schema(gzip.decompress(SCHEMA.read_bytes()).decode(), assume_valid=True)


def test_the_module_lists_every_document():
    names = set(documents.all_documents())
    assert {"BULK_PRODUCTS", "BULK_ORDERS", "BULK_CUSTOMERS", "BULK_RUN_QUERY", "PRODUCTS_PAGE"} <= names


@pytest.mark.parametrize("name", sorted(documents.all_documents()))
def test_document_is_valid_against_the_admin_schema(name):
    errors = validate(schema(), parse(documents.all_documents()[name]))
    assert not errors, [e.message for e in errors]


def test_an_invalid_document_is_caught():
    errors = validate(schema(), parse("{ products { edges { node { noSuchField } } } }"))
    assert errors
