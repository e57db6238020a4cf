"""PostgreSQL: the events table becomes a table partitioned by month of created_at (backend/events/partitions.py).

Works on a fresh database and on one with data: the old table is renamed, a partitioned table like it is created
with partitions covering every stored month (and three ahead, and a default), the rows are copied, the old table is
dropped, and its indexes and foreign keys are recreated under their own names. The primary key becomes
(id, created_at), as PostgreSQL requires the partition key in it; ids stay unique (one sequence). SQLite: no-op.
"""
from datetime import UTC, datetime

from django.db import migrations

TABLE = "events_event"
OLD = "events_event_unpartitioned"


def partition(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor != "postgresql":
        return
    from backend.events import partitions

    with conn.cursor() as cur:
        if partitions.is_partitioned(cur):
            return
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = %s AND indexname <> %s", [TABLE, f"{TABLE}_pkey"])
        indexes = cur.fetchall()
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = to_regclass(%s) AND contype = 'f'", [TABLE])
        foreign_keys = cur.fetchall()
        cur.execute(f"SELECT coalesce(max(id), 0), min(created_at) FROM {TABLE}")
        last_id, oldest = cur.fetchone()

        cur.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cur.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {TABLE}_pkey TO {OLD}_pkey")
        cur.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)")
        cur.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, created_at)")
        now = datetime.now(UTC)
        partitions.ensure_ahead(now, cursor=cur, since=oldest or now)
        cur.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cur.execute(f"DROP TABLE {OLD}")
        cur.execute(f"CREATE SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
        cur.execute(f"SELECT setval('{TABLE}_id_seq', %s + 1, false)", [last_id])
        cur.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        for _name, definition in indexes:
            cur.execute(definition)
        for name, definition in foreign_keys:
            cur.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")


class Migration(migrations.Migration):
    atomic = True

    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
