"""A real SMTP server (aiosmtpd) per test, Celery in-process, and a shop whose recipes the tests drive."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

import pytest

from tests.integrations.shopify.sync_support import shopify_standin, standin, standin_shop  # noqa: F401


@dataclass
class Mailbox:
    """What the SMTP server accepted: parsed messages, in order. `hold` makes the next DATA wait (see gate)."""

    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set hold_at to "EHLO" or "DATA" to make the server stall there (after storing the message, for DATA) until
    # `release` is set; `stalled` tells the test a client is waiting there.
    hold_at: str = ""
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def _stall(self, where: str) -> None:
        if self.box.hold_at == where and not self.box.release.is_set():
            self.box.stalled.set()
            while not self.box.release.is_set():
                await asyncio.sleep(0.02)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's name
        await self._stall("EHLO")
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.box.lock:
            self.box.messages.append(message)
        await self._stall("DATA")  # accepted and stored, but the client has not heard "250" yet
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """An SMTP server on a free local port, and Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by connecting to the port it was given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    box.port = settings.EMAIL_PORT
    yield box
    controller.stop()


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Run recipe tasks in-process even when CI points Celery at Redis (no worker runs during tests)."""
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def _own_cache(own_cache_namespace):
    """Product cards and segment keys are cached; each test gets its own namespace."""


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(autouse=True)
def _fresh_lists():
    """Shared recommendation lists and product cards are kept per process; tests reuse product ids."""
    from backend.emails.blocks import forget
    from backend.storefront import hotcache

    forget()
    hotcache.clear()
    yield
    forget()
    hotcache.clear()


@pytest.fixture
def merchant(client, shop):
    """The shop's merchant, signed in to the admin through a login link (the session cookie carries on)."""
    from backend.dashboard.auth import login_token

    assert client.get("/admin/recipes/", {"token": login_token(shop)}).status_code == 302
    return client
