"""The schema can be distributed by shop (Citus, distribution column shop_id) without changes: every shop-owned
table carries shop_id, and every unique constraint or unique index spanning rows includes it (a distributed table
can only enforce uniqueness that includes the distribution column). Walks every installed model, so apps added
later are covered without touching this test."""
from __future__ import annotations

from django.apps import apps
from django.db import models

# Tables that are not per shop, each with its reason. Citus: Shop is a reference table (copied to every node);
# the rest stay on the coordinator.
GLOBAL = {
    "shops.Shop": "the distribution key itself: a reference table",
    "core.Counter": "security counters (spent sign-in links, failed sign-ins) keyed by what they count",
    "upkeep.JobCursor": "where each cross-shop sweep resumes: one row per sweep",
    "integrations_woocommerce.ConnectRequest": "a wc-auth round trip before its shop exists (looked up by token)",
}
PROJECT = ("backend.", "integrations.")
# Tables outside the project a shop table may point to, each with its reason. Under Citus a foreign key from a
# distributed table must reach a reference table or a co-located table, never a coordinator-only one.
FOREIGN_TARGETS = {
    "shops.Shop": "the reference table",
    "auth.User": "a merchant's login (dashboard.ShopMember): README's one-time step drops that one constraint",
}


def _project_models() -> list[type[models.Model]]:
    out = []
    for model in apps.get_models(include_auto_created=True):
        module = model._meta.app_config.name
        if module.startswith(PROJECT) and not model._meta.proxy and model._meta.managed:
            out.append(model)
    return out


def _label(model) -> str:  # noqa: ANN001
    return f"{model._meta.app_label}.{model.__name__}"


def _shop_column(model) -> str | None:  # noqa: ANN001
    for f in model._meta.concrete_fields:
        if f.column == "shop_id" or (f.is_relation and f.related_model is not None
                                     and _label(f.related_model) == "shops.Shop"):
            return f.column
    return None


def _unique_column_sets(model) -> list[tuple[str, tuple[str, ...]]]:  # noqa: ANN001
    meta = model._meta
    sets = []
    for f in meta.concrete_fields:
        if f.unique and not f.primary_key:
            sets.append((f"{f.name} unique=True", (f.column,)))
    for together in meta.unique_together:
        sets.append((f"unique_together {together}", tuple(meta.get_field(n).column for n in together)))
    for c in meta.constraints:
        if isinstance(c, models.UniqueConstraint):
            cols = tuple(meta.get_field(n).column for n in c.fields) if c.fields else ("<expressions>",)
            sets.append((f"constraint {c.name}", cols))
    return sets


def test_every_project_model_is_walked():
    labels = {_label(m) for m in _project_models()}
    assert {"orders.Order", "events.Event", "segments.Segment", "upkeep.ShopUpkeep"} <= labels


def test_every_shop_owned_table_carries_shop_id():
    missing = [f"{_label(m)} ({m._meta.db_table})" for m in _project_models()
               if _label(m) not in GLOBAL and _shop_column(m) is None]
    assert not missing, "tables without shop_id (add a shop FK, or list a truly global table in GLOBAL): " + \
        ", ".join(missing)


def test_every_unique_constraint_includes_shop_id():
    bad = []
    for model in _project_models():
        if _label(model) in GLOBAL:
            continue
        column = _shop_column(model)
        for what, cols in _unique_column_sets(model):
            if column not in cols:
                bad.append(f"{_label(model)}: {what} {cols}")
    assert not bad, "unique constraints without shop_id (Citus cannot enforce them per shard): " + "; ".join(bad)


def test_every_shop_table_has_a_plain_id_primary_key():
    """README's one-time Citus step turns each primary key into (shop_id, id) (events: (shop_id, id, created_at),
    its partition key): that step is one uniform statement only while every shop table's key is its own `id`."""
    odd = [f"{_label(m)}: {m._meta.pk.column}" for m in _project_models()
           if _label(m) not in GLOBAL and m._meta.pk.column != "id"]
    assert not odd, "shop tables whose primary key is not `id`: " + ", ".join(odd)


def test_foreign_keys_from_shop_tables_stay_in_the_shop_or_reach_a_listed_table():
    shop_tables = {_label(m) for m in _project_models() if _label(m) not in GLOBAL}
    bad = []
    for model in _project_models():
        if _label(model) not in shop_tables:
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is not None and f.db_constraint:
                target = _label(f.related_model)
                if target not in shop_tables and target not in FOREIGN_TARGETS:
                    bad.append(f"{_label(model)}.{f.name} -> {target}")
    assert not bad, "foreign keys from shop tables to tables neither per shop nor listed: " + "; ".join(bad)


def test_global_tables_still_exist():
    """An entry in GLOBAL for a model that is gone would silently widen the exemption."""
    labels = {_label(m) for m in _project_models()}
    assert set(GLOBAL) <= labels
