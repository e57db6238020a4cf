"""Every GraphQL document the app sends validates against Shopify's published Admin schema: 2026-04, the newest one
here (the app calls 2026-10), and, for the documents that do not use what 2026-01 introduced, 2025-04 as well."""
from __future__ import annotations

import gzip
from functools import lru_cache

import pytest
from graphql import NoDeprecatedCustomRule, build_schema, parse, validate

from integrations.shopify import documents
from tests.standins.shopify.schema import schema_path

pytestmark = pytest.mark.shared

# bulkOperationRunQuery(groupObjects:), bulkOperation(id:) and bulkOperations exist from 2026-01 only.
ONLY_2026 = {"BULK_RUN_QUERY", "BULK_OPERATION", "RUNNING_BULK_OPERATIONS"}


@lru_cache(maxsize=2)
def schema(version: str):
    path = schema_path(version)
    if not path.exists():
        pytest.skip(f"Shopify schema for {version} not found at {path} (../shared/ is absent on this machine; "
                    "SHOPIFY_SCHEMA_DIR names another folder)")
    return build_schema(gzip.decompress(path.read_bytes()).decode(), assume_valid=True)


def test_the_module_lists_every_document():
    names = set(documents.all_documents())
    assert {"BULK_PRODUCTS", "BULK_ORDERS", "BULK_CUSTOMERS", "BULK_RUN_QUERY", "PRODUCTS_PAGE"} | ONLY_2026 <= names


@pytest.mark.parametrize("name", sorted(documents.all_documents()))
def test_document_is_valid_against_the_2026_04_schema(name):
    errors = validate(schema("2026-04"), parse(documents.all_documents()[name]))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(set(documents.all_documents()) - ONLY_2026))
def test_document_is_valid_against_the_2025_04_schema_too(name):
    errors = validate(schema("2025-04"), parse(documents.all_documents()[name]))
    assert not errors, [e.message for e in errors]


def test_the_2026_documents_really_need_2026():
    for name in ONLY_2026:
        assert validate(schema("2025-04"), parse(documents.all_documents()[name])), name


@pytest.mark.parametrize("name", sorted(documents.all_documents()))
def test_no_document_uses_what_2026_04_deprecates(name):
    """e.g. currentBulkOperation (bulkOperations replaces it): deprecated fields are the next ones removed."""
    errors = validate(schema("2026-04"), parse(documents.all_documents()[name]), rules=[NoDeprecatedCustomRule])
    assert not errors, [e.message for e in errors]


def test_the_deprecation_check_catches_current_bulk_operation():
    errors = validate(schema("2026-04"), parse("{ currentBulkOperation { id } }"), rules=[NoDeprecatedCustomRule])
    assert errors


def test_an_invalid_document_is_caught():
    errors = validate(schema("2026-04"), parse("{ products { edges { node { noSuchField } } } }"))
    assert errors
