"""The widget API reads from a real PostgreSQL streaming replica (started here with pg_basebackup from the primary
on 127.0.0.1:5432), and from the primary while the replica lags beyond REPLICA_MAX_LAG_SECONDS; writes never go to
the replica. Needs PostgreSQL 15 binaries and a pg_hba.conf that lets 127.0.0.1 connect for replication (trust)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from backend.core import replica as routing
from backend.storefront import hotcache
from tests.storefront.factories import make_product

BIN = Path("/usr/lib/postgresql/15/bin")
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> list[str]:
    # The server refuses to run as root; the data directory must belong to the user running it.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker):  # noqa: ANN001
    if connection.vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL (this run is on SQLite)")
    if not (BIN / "pg_basebackup").exists():
        pytest.skip(f"no PostgreSQL 15 binaries in {BIN}")
    with django_db_blocker.unblock():
        primary = connection.settings_dict
    data = Path(tempfile.mkdtemp(prefix="replica-"))
    data.chmod(0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    backup = subprocess.run(_as_postgres(  # noqa: S603 - fixed binaries, our own arguments
        str(BIN / "pg_basebackup"), "-h", primary["HOST"] or "127.0.0.1", "-p", str(primary["PORT"] or 5432),
        "-U", primary["USER"] or "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"),
        capture_output=True, text=True, timeout=600)
    if backup.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"pg_basebackup refused (pg_hba.conf needs 'host replication all 127.0.0.1/32 trust'): "
                    f"{backup.stderr.strip()[:300]}")
    # Debian keeps the primary's configuration outside its data directory: the copy gets minimal files of its own.
    # A standby needs at least the primary's value of these (it refuses to start otherwise).
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
                       "'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', "
                       "'max_locks_per_transaction')")
        floors = "".join(f"{name} = {value}\n" for name, value in cursor.fetchall())
    (data / "postgresql.conf").write_text(f"hot_standby = on\nshared_buffers = 16MB\n{floors}")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    if os.geteuid() == 0:
        for path in (data / "postgresql.conf", data / "pg_hba.conf"):
            shutil.chown(path, "postgres", "postgres")
    server = subprocess.Popen(_as_postgres(  # noqa: S603
        str(BIN / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={data}"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            ready = subprocess.run([str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],  # noqa: S603
                                   capture_output=True)
            if ready.returncode == 0:
                break
            if server.poll() is not None:
                pytest.fail(f"replica did not start: {server.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        # As REPLICA_DATABASE_URL configures it: the tests' mirror of the primary (never flushed, never migrated).
        connections.settings[routing.REPLICA] = {**primary, "PORT": port, "CONN_MAX_AGE": 0,
                                                 "TEST": {"MIRROR": "default"}}
        yield port
    finally:
        if routing.REPLICA in connections.settings:
            connections[routing.REPLICA].close()
            del connections[routing.REPLICA]
            connections.settings.pop(routing.REPLICA, None)
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def _on_replica(sql: str, params=None):  # noqa: ANN001, ANN202
    with connections[routing.REPLICA].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()


def _wait(check, seconds: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the replica"
        time.sleep(0.1)


def _widget(client, shop, n: int):  # noqa: ANN001, ANN202
    cache.clear()
    hotcache.clear()
    routing.PROBE.forget()
    with CaptureQueriesContext(connections[routing.REPLICA]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        response = client.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key, "limit": n}, **UA)
    assert response.status_code == 200
    titles = [item["title"] for item in response.json()["items"]]

    def catalog_reads(queries) -> int:  # noqa: ANN001 - the lag probe's own query does not count
        return sum("catalog_product" in q["sql"] for q in queries)

    return titles, catalog_reads(on_replica.captured_queries), catalog_reads(on_primary.captured_queries)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_widget_reads_come_from_the_replica_and_from_the_primary_when_it_lags(standby, client, shop, settings,
                                                                               monkeypatch):
    from backend.catalog.models import Product

    settings.REPLICA_MAX_LAG_SECONDS = 1.0

    def recommend(s, widget, ctx):  # noqa: ANN001, ANN202 - whatever the shop's catalog holds, read by the view
        return list(Product.objects.for_shop(s.pk).order_by("pk").values_list("pk", flat=True))[: ctx.limit]

    monkeypatch.setattr("backend.recommendations.registry.recommend", recommend)
    for title in ("Jacket", "Hat"):
        make_product(shop, title=title)
    _wait(lambda: _on_replica("SELECT count(*) FROM catalog_product WHERE shop_id = %s", [shop.pk])[0] == 2)
    assert _on_replica("SELECT pg_is_in_recovery()")[0] is True

    titles, replica_reads, _ = _widget(client, shop, 10)
    assert titles == ["Jacket", "Hat"] and replica_reads > 0  # served by the replica

    _on_replica("SELECT pg_wal_replay_pause()")  # the replica falls behind from here
    try:
        time.sleep(1.2)  # the last replayed commit is now older than the bound
        make_product(shop, title="Gloves")  # a write: on the primary, never replayed while paused
        _wait(lambda: (routing.PROBE.forget() or routing.measure_lag() or 0) > settings.REPLICA_MAX_LAG_SECONDS)
        titles, replica_reads, primary_reads = _widget(client, shop, 11)
        assert titles == ["Jacket", "Hat", "Gloves"]  # the primary's fresh catalog
        assert replica_reads == 0 and primary_reads > 0
    finally:
        _on_replica("SELECT pg_wal_replay_resume()")
    _wait(lambda: _on_replica("SELECT count(*) FROM catalog_product WHERE shop_id = %s", [shop.pk])[0] == 3)
    titles, replica_reads, _ = _widget(client, shop, 12)
    assert titles == ["Jacket", "Hat", "Gloves"] and replica_reads > 0  # caught up: back on the replica
