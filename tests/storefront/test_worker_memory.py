"""The production gunicorn config: gunicorn accepts its hooks, and a loaded worker's objects are frozen out of the
garbage collector (a full collection walking them stalled every request in flight; bench_widget_api)."""
from __future__ import annotations

import gc
import runpy
from pathlib import Path

from gunicorn.config import Config

from backend.config import worker_memory

CONF = Path(__file__).resolve().parents[2] / "backend" / "config" / "gunicorn.conf.py"


def production_config() -> Config:
    cfg = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in cfg.settings:
            cfg.set(name, value)  # gunicorn's own validation: a hook with the wrong arity raises here
    return cfg


def test_worker_freezes_what_it_loaded_and_still_collects_new_garbage() -> None:
    cfg = production_config()
    assert cfg.worker_class_str == "gthread"
    served = worker_memory._served
    gc.unfreeze()
    try:
        cfg.post_worker_init(None)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # Django, the URL conf and the views: what every full collection walked

        class Cycle:
            pass

        garbage = Cycle()
        garbage.me = garbage  # a reference cycle a request leaves behind: still collected
        del garbage
        assert gc.collect() >= 1

        # What the first requests load lazily is frozen once, after REFREEZE_AFTER requests. Other threads of this
        # test process may free frozen objects meanwhile, so the check allows a margin rather than an exact count.
        loaded_later = [[n] for n in range(50_000)]  # lists: always tracked by the collector
        worker_memory._served = worker_memory.REFREEZE_AFTER - 2
        cfg.post_request(None, None, {}, None)
        before = gc.get_freeze_count()
        assert before < frozen + 40_000  # one request short: nothing frozen yet
        cfg.post_request(None, None, {}, None)
        assert gc.get_freeze_count() >= before + 40_000 and len(loaded_later) == 50_000
        cfg.post_request(None, None, {}, None)  # and never again after that
        assert worker_memory._served == worker_memory.REFREEZE_AFTER + 1
    finally:
        worker_memory._served = served
        gc.unfreeze()
