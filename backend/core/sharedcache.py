"""The cache without Redis: Django's database cache, which every gunicorn worker and Celery process shares, with an
atomic `incr` (Django's reads, adds and writes back, so two workers counting at once lose a hit, and it resets the
key's expiry to the default; rate-limit windows need both right)."""
from __future__ import annotations

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class SharedDatabaseCache(DatabaseCache):
    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        q = connection.ops.quote_name
        table, key_col, value_col, expires_col = q(self._table), q("cache_key"), q("value"), q("expires")
        expression = models.Expression(output_field=models.DateTimeField())
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        with transaction.atomic(using=db), connection.cursor() as cursor:
            # A no-op write first takes the row lock (PostgreSQL) or the write lock (SQLite) before we read, so a
            # concurrent incr waits for our commit instead of reading the same value.
            cursor.execute(f"UPDATE {table} SET {expires_col} = {expires_col} WHERE {key_col} = %s", [key])  # noqa: S608
            if cursor.rowcount == 0:
                raise ValueError(f"Key '{key}' not found")
            cursor.execute(f"SELECT {value_col}, {expires_col} FROM {table} WHERE {key_col} = %s", [key])  # noqa: S608
            value, expires = cursor.fetchone()
            for converter in converters:
                expires = converter(expires, expression, connection)
            if expires < now():
                raise ValueError(f"Key '{key}' not found")
            new = pickle.loads(base64.b64decode(connection.ops.process_clob(value).encode())) + delta  # noqa: S301
            encoded = base64.b64encode(pickle.dumps(new, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET {value_col} = %s WHERE {key_col} = %s", [encoded, key])  # noqa: S608
        return new
