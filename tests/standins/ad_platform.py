"""What the Meta and Google ad stand-ins share: a real HTTP server on a free local port for one ad account, the
refusals it gave, the failures a test queues for the next member batches, and running on its own with `python -m`.

Each platform keeps its own API (`handle`, its error shapes); only the lifecycle and the steering live here.
"""
from __future__ import annotations

import argparse
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet keep-alive handler that answers JSON; a platform's subclass implements `serve(method)`."""

    owner: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def serve(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.serve("GET")

    def do_POST(self) -> None:
        self.serve("POST")

    def do_DELETE(self) -> None:
        self.serve("DELETE")


class AdStandin:
    """One ad account behind a real HTTP server; subclasses name their `handler` and `url_variable`."""

    handler: ClassVar[type[JsonHandler]]
    url_variable: ClassVar[str]  # what `python -m` prints the URL as, e.g. META_STANDIN_URL

    def __init__(self, token: str, account_id: str, first_id: int):
        self.token = token
        self.account_id = account_id
        self.requests: list[tuple[str, str, int]] = []  # (operation, audience, rows) of accepted member batches
        self.refusals: list[str] = []
        self.failures: deque[int] = deque()
        self.fail_after = 0  # member batches to accept before the queued failures start
        self.lock = threading.Lock()
        self._next_id = first_id
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle
    def start(self) -> Self:
        handler = type("Handler", (self.handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- what tests read and steer
    def reset(self) -> None:
        """Nothing refused, requested or queued to fail: what each test starts from (what the account holds stays)."""
        with self.lock:
            self.failures.clear()
            self.fail_after = 0
            self.refusals.clear()
            self.requests.clear()

    def fail_next(self, *statuses: int, after: int = 0) -> None:
        """The next member batches fail with these HTTP statuses, once `after` batches have been accepted."""
        self.failures.extend(statuses)
        self.fail_after = after

    def next_failure(self) -> int | None:
        """The status this member batch fails with, if one is due; call it holding `lock`."""
        if self.failures and self.fail_after:
            self.fail_after -= 1
            return None
        return self.failures.popleft() if self.failures else None

    def new_id(self) -> str:
        """A fresh remote object id; call it holding `lock`."""
        self._next_id += 1
        return str(self._next_id)

    @classmethod
    def run_alone(cls) -> None:
        """`python -m tests.standins.<platform>`: prints <URL_VARIABLE>=..., TOKEN=... and ACCOUNT=..., then serves
        until killed (bench/bench_audiences.py reads those three lines)."""
        argparse.ArgumentParser(description=cls.__doc__).parse_args()
        server = cls().start()
        print(f"{cls.url_variable}={server.url}", flush=True)
        print(f"TOKEN={server.token}", flush=True)
        print(f"ACCOUNT={server.account_id}", flush=True)
        threading.Event().wait()
