"""A worker process killed mid-send (SIGKILL, a real separate process) neither sends twice nor skips the email.

The SMTP server (aiosmtpd, in this process) stalls at a chosen point so the kill lands exactly there:
- at EHLO: the email is rendered, nothing handed over → the next beat after the lease sends it, once;
- at DATA, after the server stored the message but before the worker heard "250" → the handover may have
  happened, so it is never sent again (marked uncertain): the inbox holds exactly one.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from backend.customers.identities import resolve_customer
from backend.emails.models import EmailSend
from backend.recipes import scheduler
from backend.recipes.engine import settings_for
from backend.recipes.models import RecipeRun
from backend.recipes.presets import enable_preset
from backend.recipes.triggers import enter
from tests.factories import make_shop
from tests.recipes.factories import customer, product

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _due_run():
    shop = make_shop("kill.myshopify.com", currency="EUR", timezone="UTC")
    settings_for(shop).__class__.objects.for_shop(shop).update(quiet_start_hour=0, quiet_end_hour=0)
    mug = product(shop, "Mug", "12.00")
    ana = customer(shop, "ana@example.com")
    recipe, _ = enable_preset(shop, "abandoned-cart")
    run = enter(recipe, resolve_customer(ana), "cart:test", {"products": [mug.pk]},
                now=datetime.now(UTC) - timedelta(hours=2))
    return shop, run


def _worker(run_id: int, settings, smtp, tmp_path) -> subprocess.Popen:
    """A separate worker process advancing the run, as a Celery worker's task would."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEMO_MODE": "1", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(smtp.port), "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
           "DJANGO_SETTINGS_MODULE": "backend.config.settings"}
    env.pop("PYTEST_VERSION", None)
    code = f"import django; django.setup(); from backend.recipes.engine import advance; advance({run_id})"
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill_when_stalled(worker: subprocess.Popen, smtp, tmp_path) -> None:
    deadline = time.monotonic() + 60
    while not smtp.stalled.is_set() and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.02)
    assert smtp.stalled.is_set(), (tmp_path / "worker.log").read_text()[-2000:]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    smtp.release.set()


@pytest.mark.parametrize("stall", ["EHLO", "DATA"])
def test_a_worker_killed_mid_send_never_sends_twice_and_never_skips(stall, settings, smtp, tmp_path):
    shop, run = _due_run()
    smtp.hold_at = stall
    _kill_when_stalled(_worker(run.pk, settings, smtp, tmp_path), smtp, tmp_path)
    send = EmailSend.objects.for_shop(shop).get(run=run)
    assert send.status == ("rendered" if stall == "EHLO" else "sending")
    assert len(smtp.to("ana@example.com")) == (0 if stall == "EHLO" else 1)

    # Before the lease lapses the beat leaves it alone (the worker might be alive and slow) ...
    scheduler.dispatch_due()
    assert EmailSend.objects.for_shop(shop).get(run=run).status == send.status
    # ... after it, the next beat hands the run out again; and a duplicate delivery of the same step changes nothing.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11), tick=True):
        scheduler.dispatch_due()
        from backend.recipes.engine import advance

        advance(run.pk)
    assert len(smtp.to("ana@example.com")) == 1  # exactly one in the inbox, in both cases
    send.refresh_from_db()
    assert send.status == ("sent" if stall == "EHLO" else "uncertain")
    run.refresh_from_db()
    assert run.step == 1 and run.state == RecipeRun.State.ACTIVE  # moved on to the 24 h step either way
