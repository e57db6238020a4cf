"""The live server every browser and HTTP test talks to: sockets read in parallel, the app run one request at a time,
and a gate that closes (and drains) before the test's database is flushed.

Why each part:
- Chromium opens spare connections it may never use (preconnects, speculative sockets). A server that reads one
  socket at a time sits on such an idle socket until the browser drops it (about 10 s) while the real request
  waits behind it: the "12 s stall" seen on the cart page.
- The page's script fires beacons while it navigates, so requests overlap; SQLite's in-memory test database, shared
  by the server's threads, fails on overlapping writes ("database table is locked"). Browser tests of the
  storefront switch `serial` on to run the app one request at a time. It stays off elsewhere: a connect flow's
  request waits on a stand-in that calls back into the app, which one-at-a-time would deadlock.
- A beacon sent as a page closes can reach the server after its test ended, while pytest-django truncates the
  tables: on PostgreSQL the flush then fails (or the write lands in the next test). Closing the gate answers such
  late requests 503 without touching the database, and teardown waits for the ones already running.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class GatedSerialApp:
    """Wraps the live server's WSGI app: optional serial execution, a count of requests in flight, and a gate."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.serial = False
        self._serial = threading.Lock()
        self._state = threading.Condition()
        self._in_flight = 0
        self._open = True

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        with self._state:
            if not self._open:
                start_response("503 Service Unavailable", [("Content-Type", "application/json")])
                return [b'{"error": "between tests"}']
            self._in_flight += 1
        try:
            with self._serial if self.serial else contextlib.nullcontext():
                result = self.app(environ, start_response)
                try:
                    # Read the whole body here: a streamed response still runs queries as it iterates.
                    return [b"".join(result)]
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
        finally:
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()

    def open(self) -> None:
        with self._state:
            self._open = True

    def close_and_drain(self, timeout: float = 15.0) -> bool:
        """Refuse new requests and wait for those running; False if one still runs after `timeout` seconds."""
        with self._state:
            self._open = False
            return self._state.wait_for(lambda: self._in_flight == 0, timeout=timeout)


def start_live_server(addr: str):
    """pytest-django's LiveServer (threaded), with its app wrapped in a GatedSerialApp available as `.gate`."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(addr)
    httpd = server.thread.httpd
    gate = GatedSerialApp(httpd.get_app())
    httpd.set_app(gate)
    server.gate = gate
    return server
