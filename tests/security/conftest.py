"""What the security tests share: running this checkout's manage.py / gunicorn as production would, with an
environment we choose (never the test run's demo mode)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
