"""Real outages for tests: a redis-server of our own that a test can kill, and a database that stops answering.

The Redis is a real process on a free port (never the shared 6379), so killing it hurts no other test or engineer.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server binary not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """`redis-server --port N --save "" --appendonly no`, started and waited for; kill() is a SIGKILL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [REDIS_SERVER or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """What an OOM killer or a crashed host does: no goodbye, connections reset, the port refuses."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        """A Redis that stops answering without closing anything (a stuck host, a partition)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.kill()


def redis_cache_settings(server: RedisServer) -> dict:
    """CACHES as production builds them from REDIS_URL (same backend, same timeout options), at our server."""
    from django.conf import settings

    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url,
                        "OPTIONS": dict(settings.REDIS_CACHE_OPTIONS)}}


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """Point the default connection at a database nobody serves, in every thread (live-server threads share the
    settings dict), and close the open connection: the next query fails as it does when the server is gone."""
    from django.db import connection

    params = connection.settings_dict
    saved = {k: params.get(k) for k in ("NAME", "HOST", "PORT")}
    if connection.vendor == "sqlite":
        params["NAME"] = "/nonexistent-outage-dir/db.sqlite3"  # "unable to open database file"
    else:
        params["HOST"], params["PORT"] = "127.0.0.1", str(free_port())  # nothing listens: connection refused
    connection.close()
    try:
        yield
    finally:
        connection.close()
        params.update(saved)
