"""Screenshots of every admin screen for reviewers: Spanish and English, desktop (1280 px) and phone (390 px).

`make screenshots` writes var/screenshots/<screen>-<lang>-<desktop|phone>.png. The app runs as the benches run it
(bench_lighthouse.start_app: a throwaway SQLite database with the demo seed, no Redis), the merchant signs in through
the same one-time link a merchant gets (bench_admin_lighthouse.sign_in), and Playwright drives Debian's Chromium.
It lives beside the benches rather than in a management command: it is a reviewer's tool that starts the app
itself, not something the app runs.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench_admin_lighthouse import sign_in
from bench_lighthouse import CHROME_FLAGS, CHROMIUM, DOMAIN, ROOT, app_env, free_port, start_app

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# One running experiment so its page has arms and numbers to show; the seed itself has none.
EXPERIMENT = f"""
from django.utils import timezone
from backend.experiments.models import Experiment
from backend.shops.models import Shop
shop = Shop.objects.get(domain={DOMAIN!r})
if not Experiment.objects.for_shop(shop).exists():
    Experiment.objects.create(shop=shop, name="Also bought: co-purchase vs similar", target_key="also_bought",
        status="running", started_at=timezone.now(), arms=[{{"key": "control", "weight": 1, "config": {{}}}},
        {{"key": "similar", "weight": 1, "config": {{"algorithm": "cosine"}}}}])
"""


def nav_screens() -> dict[str, str]:
    """The shell's navigation (backend/dashboard/shell.py NAV), read from the source so no Django setup is needed."""
    text = (ROOT / "backend/dashboard/shell.py").read_text()
    start = text.index("NAV = (")
    nav = text[start:text.index("\n)\n", start)]
    return dict(re.findall(r'\("(\w+)", "(/admin/[^"]*)"', nav))


def first_link(base: str, cookie: str, path: str, pattern: str) -> str | None:
    """The first link on a screen that matches `pattern` (a segment's or an experiment's own page)."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=20) as response:
        html = response.read().decode()
    found = re.search(pattern, html)
    return found.group(0) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "screenshots"))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Debian's chromium is missing: make chromium")
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_app(tmp, port)
        try:
            env = app_env(tmp, port)
            subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", EXPERIMENT], cwd=ROOT, env=env,
                           check=True)
            cookie = sign_in(base, env)
            screens = nav_screens()
            screens["segment-new"] = "/admin/segments/new/"
            for name, path, pattern in (("segment-edit", "/admin/segments/", r"/admin/segments/\d+/"),
                                        ("experiment", "/admin/experiments/", r"/admin/experiments/\d+/")):
                found = first_link(base, cookie, path, pattern)
                if found:
                    screens[name] = found
                else:
                    print(f"no link on {path} for {name}: skipped", file=sys.stderr)
            session = cookie.split("=", 1)[1]
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
                try:
                    for size, viewport in SIZES.items():
                        context = browser.new_context(viewport=viewport)
                        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
                        page = context.new_page()
                        for lang in ("es", "en"):
                            for name, path in screens.items():
                                page.goto(f"{base}{path}?lang={lang}", wait_until="networkidle")
                                if "/admin/login" in page.url:
                                    sys.exit(f"{path} sent the browser to the sign-in page")
                                target = out / f"{name}-{lang}-{size}.png"
                                page.screenshot(path=str(target), full_page=True)
                                print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
                        context.close()
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
