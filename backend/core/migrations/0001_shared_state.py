from django.db import migrations, models

# The shared database cache's table (settings.CACHES without REDIS_URL), in the layout `createcachetable` makes, so
# that `migrate` alone prepares any database. Created in the database only: it is no model of the app.
cache_table = migrations.CreateModel(
    name="CacheEntry",
    fields=[
        ("cache_key", models.CharField(max_length=255, primary_key=True, serialize=False)),
        ("value", models.TextField()),
        ("expires", models.DateTimeField(db_index=True)),
    ],
    options={"db_table": "core_cache"},
)


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(database_operations=[cache_table], state_operations=[]),
        migrations.CreateModel(
            name="Counter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("count", models.PositiveIntegerField(default=0)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
