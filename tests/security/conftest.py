"""What the security tests share: running this checkout's manage.py / gunicorn as production would (never with
the test run's demo mode), shops on both platforms, and a census of every table (refused input changes none)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
# The test run's own mode and secrets: a process started "as production" must not inherit them.
TEST_RUN_VARS = ("PYTEST_VERSION", "DEMO_MODE", "DEBUG", "SECRET_KEY", "SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_OLD",
                 "FIELD_ENCRYPTION_KEY", "TRUST_X_FORWARDED_PROTO", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                 "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "ALLOWED_HOSTS", "APP_URL",
                 "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_RUN_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "backend.config.settings", "PYTHONPATH": str(ROOT)})
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


# 3,000 `[` then 3,000 `]`: deeper than Python's recursion limit, which made the JSON parsers raise RecursionError.
DEEP = b"[" * 3000 + b"]" * 3000


def all_rows() -> dict[str, int]:
    """Row count of every table the app owns (refused input must change none of them), in one query."""
    from django.db import connection

    models = [m for m in apps.get_models(include_auto_created=True)
              if m._meta.app_label not in {"contenttypes", "auth", "sessions", "admin"}]
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")  # noqa: S608 - table names from the model registry
        row = cursor.fetchone()
    return {m._meta.label: n for m, n in zip(models, row, strict=True)}


def shopify_hmac(body: bytes, secret: str | None = None) -> str:
    key = (settings.SHOPIFY_API_SECRET if secret is None else secret).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shops(db):
    """An installed Shopify shop and a connected WooCommerce shop (with its webhook secret)."""
    from backend.shops.models import Shop
    from integrations.woocommerce.models import WooStore
    from tests.factories import make_shop

    shopify = make_shop("hostile.myshopify.com")
    woo = make_shop("woo.example.com", platform=Shop.Platform.WOOCOMMERCE)
    woo.access_token = "ck_" + "a" * 40
    woo.refresh_token = "cs_" + "b" * 40
    woo.save()
    store = WooStore.objects.create(shop=woo, store_url="https://woo.example.com", key_id="1",
                                    key_permissions="read_write", webhook_secret=secrets.token_urlsafe(32))
    return shopify, woo, store


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's hook
    """Requests the fuzz test sent per endpoint, added up over the test processes (-n 2 writes one file each)."""
    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "var"
    parts = [p for p in folder.glob("fuzz-summary-*.json") if p.stat().st_mtime >= _STARTED]
    if not parts:
        return
    sent: Counter[str] = Counter()
    statuses: dict[str, Counter[str]] = {}
    for part in parts:
        for route, row in json.loads(part.read_text()).items():
            sent[route] += row["requests"]
            statuses.setdefault(route, Counter()).update(row["statuses"])
    merged = {route: {"requests": sent[route], "statuses": dict(sorted(statuses[route].items()))}
              for route in sorted(sent)}
    (folder / "fuzz-summary.json").write_text(json.dumps(merged, indent=1))
    terminalreporter.write_sep("-", f"fuzz: {sum(sent.values())} requests over {len(merged)} routes")
    for route, row in merged.items():
        terminalreporter.write_line(f"{row['requests']:6d}  /{route}  {row['statuses']}")
