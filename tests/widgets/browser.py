"""Driving Debian's Chromium: launch flags, and pages that record console output, script errors and dialogs."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator:
    """Debian's headless Chromium through Playwright, with the storefront bundle built; skips when not installed."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    from tests.widgets.bundle import ensure_built

    if shutil.which("npm"):
        ensure_built()
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are
    # ordinary blocking calls in the test thread, which is what this switch tells Django.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageWatch:
    """What the page said on the console, which script errors escaped, and whether any dialog opened."""

    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, url it points at)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        """Every console error except Chromium's own network log line for a request to an API we made fail.

        The browser itself prints "Failed to load resource" for any failed request (an aborted fetch, a 500):
        no script can silence or cause that line. Everything else, including anything our script logs, counts.
        """
        return [
            f"{text} ({url})"
            for kind, text, url in self.console
            if kind == "error" and not (text.startswith("Failed to load resource") and "/api/storefront/" in url)
        ]


@contextmanager
def open_page(browser):
    """A page in a fresh browser context (own storage and cookies) that records console, errors and dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    watch = PageWatch()
    page.on("console", lambda m: watch.console.append((m.type, m.text, (m.location or {}).get("url", ""))))
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    in_flight: set = set()
    page.on("request", lambda r: "/api/storefront/" in r.url and in_flight.add(r))
    page.on("requestfinished", lambda r: in_flight.discard(r))
    page.on("requestfailed", lambda r: in_flight.discard(r))

    def on_dialog(dialog):
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.watch = watch
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        # Leaving the page makes the script flush its queue by beacon; refuse those so no request is still
        # writing when the test's database is torn down.
        page.unroute_all()
        page.route("**/api/storefront/**", lambda route: route.abort())
        page.goto("about:blank")
        deadline = time.monotonic() + 5
        while in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        page.wait_for_timeout(200)  # a request the browser gave up on may still be finishing on the server
        context.close()
