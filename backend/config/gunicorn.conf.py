"""The web process in production: `gunicorn -c backend/config/gunicorn.conf.py backend.config.wsgi`.

Threaded workers, one per core: a request spends part of its time waiting on PostgreSQL or Redis, and the threads
fill that wait. Each worker keeps at most `worker_connections` client connections, so the long-lived keep-alive
connections of a load balancer (or a load generator) spread over the workers instead of piling onto whichever
worker accepted first, which would leave the other cores idle.
Once loaded, each worker freezes its long-lived objects out of the garbage collector (config/worker_memory.py): a
full collection would otherwise stall all of its threads for tens of milliseconds every few thousand requests.
"""
from __future__ import annotations

import os

workers = int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_connections = threads * 2  # as many kept alive as in flight
keepalive = 5
bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    from backend.config import worker_memory

    worker_memory.settle()


def post_request(worker, req, environ, resp) -> None:  # noqa: ANN001
    from backend.config import worker_memory

    worker_memory.request_done()
