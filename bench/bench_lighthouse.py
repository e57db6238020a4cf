"""Lighthouse (npm) with Debian's Chromium on the demo store's product and collection pages, with and without the
app embed: performance score and CLS. Target: the embed costs at most 1 point and CLS stays 0.

Starts the app itself (runserver on a free 127.0.0.1 port, a fresh seeded SQLite db in a temp dir) and installs
Lighthouse into bench/lighthouse/ with `npm ci` when it is missing. Default mobile preset with Lighthouse's
simulated throttling; `--runs N` per page and variant (median reported, default 3), `--desktop` for the desktop
preset. Takes about two minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LH_DIR = ROOT / "bench" / "lighthouse"
LH_BIN = LH_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync"
)
DOMAIN = "widgets-demo.myshopify.com"
PAGES = {"product": f"/demo/{DOMAIN}/products/trail-jacket", "collection": f"/demo/{DOMAIN}/collections/outdoor"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_tools() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit("Debian's chromium is missing: make chromium")
    subprocess.run(["make", "-s", "widgets"], cwd=ROOT, check=True)
    if not LH_BIN.exists():
        npm = shutil.which("npm") or sys.exit("npm is missing")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=LH_DIR, check=True)


def app_env(tmp: Path, port: int) -> dict[str, str]:
    """The environment of the bench's app: its own SQLite file in `tmp`, no Redis, no broker."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "APP_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
    }


def start_app(tmp: Path, port: int) -> subprocess.Popen:
    base = f"http://127.0.0.1:{port}"
    env = app_env(tmp, port)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demostore", "--domain", DOMAIN, "--origin", base], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "server.log").open("w"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + PAGES["product"], timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"the app did not start; see {tmp / 'server.log'}")


def lighthouse(url: str, out: Path, desktop: bool) -> tuple[float, float]:
    cmd = [str(LH_BIN), url, "--only-categories=performance", "--output=json", f"--output-path={out}",
           f"--chrome-flags={CHROME_FLAGS}", "--quiet", "--max-wait-for-load=20000"]
    if desktop:
        cmd.append("--preset=desktop")
    subprocess.run(cmd, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=180)
    report = json.loads(out.read_text())
    score = report["categories"]["performance"]["score"] * 100
    cls = report["audits"]["cumulative-layout-shift"]["numericValue"]
    return score, cls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--desktop", action="store_true")
    args = parser.parse_args()
    ensure_tools()
    with tempfile.TemporaryDirectory(prefix="bench-lh-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        server = start_app(tmp, port)
        try:
            rows = []
            for page, path in PAGES.items():
                result = {}
                for variant, query in (("without embed", "?embed=0"), ("with embed", "")):
                    scores, shifts = [], []
                    for run in range(args.runs):
                        score, cls = lighthouse(f"http://127.0.0.1:{port}{path}{query}", tmp / f"r{run}.json",
                                                args.desktop)
                        scores.append(score)
                        shifts.append(cls)
                    result[variant] = (statistics.median(scores), max(shifts))
                rows.append((page, result))
        finally:
            server.terminate()
            server.wait(timeout=10)
    preset = "desktop" if args.desktop else "mobile (simulated throttling)"
    print(f"Lighthouse {preset}, median of {args.runs} runs, CLS = worst run; Debian Chromium, runserver + SQLite")
    print(f"{'page':<12}{'perf without':>14}{'perf with':>11}{'drop':>7}{'CLS without':>13}{'CLS with':>10}  target")
    ok = True
    for page, r in rows:
        (s0, c0), (s1, c1) = r["without embed"], r["with embed"]
        good = s0 - s1 <= 1 and c1 == 0
        ok &= good
        print(f"{page:<12}{s0:>14.0f}{s1:>11.0f}{s0 - s1:>7.0f}{c0:>13.3f}{c1:>10.3f}  {'met' if good else 'MISSED'}")
    print("target (drop <= 1 point, CLS 0):", "met" if ok else "missed")


if __name__ == "__main__":
    main()
