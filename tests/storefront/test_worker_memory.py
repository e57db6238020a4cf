"""The production gunicorn config: gunicorn accepts its hooks, and a loaded worker's objects are frozen out of the
garbage collector (a full collection walking them stalled every request in flight; bench_widget_api)."""
from __future__ import annotations

import gc
import runpy
from pathlib import Path

from gunicorn.config import Config

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
        for _ in range(3):
            cfg.post_request(None, None, {}, None)
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
