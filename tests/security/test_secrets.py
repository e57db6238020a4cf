"""Refuse to run unsafe: with DEBUG off the app does not start while a secret is unset or a published default, the
README's production configuration passes `check --deploy` without a warning, and the running app never trusts a
signature made with a key anyone can read in this repository."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess

import httpx
import pytest
from cryptography.fernet import Fernet

from .conftest import PY, ROOT, manage, production_env

# What older versions of this repository shipped as defaults: public, so never acceptable in production.
PUBLISHED_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production-0123456789"
PUBLISHED_SHOPIFY_SECRET = "demo-api-secret"
PUBLISHED_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(PUBLISHED_SECRET_KEY.encode()).digest()).decode()
SECRET_NAMES = ("SECRET_KEY", "SHOPIFY_API_SECRET", "FIELD_ENCRYPTION_KEY")


def documented_production_env() -> dict[str, str]:
    """The `env` block under README's "Production" heading, placeholders filled with fresh random values."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production", 1)
    assert len(section) == 2, "README.md has no '### Production' section"
    block = re.search(r"```env\n(.*?)```", section[1], re.S)
    assert block, "README's Production section has no ```env block"
    env: dict[str, str] = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, value = line.split("=", 1)
        if value.startswith("<"):
            value = Fernet.generate_key().decode() if name == "FIELD_ENCRYPTION_KEY" else secrets.token_urlsafe(50)
        env[name] = value
    return env


def test_documented_production_configuration_passes_check_deploy_without_warnings():
    documented = documented_production_env()
    for name in (*SECRET_NAMES, "DEBUG", "ALLOWED_HOSTS", "APP_URL", "TRUST_X_FORWARDED_PROTO", "SECURE_SSL_REDIRECT",
                 "SECURE_HSTS_SECONDS"):
        assert name in documented, f"README's production block does not name {name}"
    result = manage("check", "--deploy", env=production_env(**documented))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_debug_off_with_no_secrets_refuses_to_start_naming_each_variable():
    result = manage("check", "--deploy", env=production_env(DEBUG="0"))
    assert result.returncode != 0
    for name in SECRET_NAMES:
        assert name in result.stderr, result.stderr


def test_debug_off_with_published_defaults_refuses_to_start_naming_each_variable():
    env = production_env(DEBUG="0", SECRET_KEY=PUBLISHED_SECRET_KEY, SHOPIFY_API_SECRET=PUBLISHED_SHOPIFY_SECRET,
                         FIELD_ENCRYPTION_KEY=PUBLISHED_FIELD_KEY, APP_URL="https://app.example.com")
    result = manage("check", env=env)
    assert result.returncode != 0
    for name in SECRET_NAMES:
        assert name in result.stderr, result.stderr


def test_a_malformed_encryption_key_is_refused_at_start_not_at_first_use():
    env = production_env(**{**documented_production_env(), "FIELD_ENCRYPTION_KEY": "not-a-fernet-key"})
    result = manage("check", env=env)
    assert result.returncode != 0 and "FIELD_ENCRYPTION_KEY" in result.stderr
    assert "SECRET_KEY" not in result.stderr.split("FIELD_ENCRYPTION_KEY", 1)[0].splitlines()[-1]


def test_gunicorn_with_default_secrets_does_not_serve(tmp_path):
    """The README's web process, DEBUG off, no secrets: it exits instead of answering requests."""
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [PY, "-m", "gunicorn", "-c", str(ROOT / "backend" / "config" / "gunicorn.conf.py"), "backend.config.wsgi",
             "-w", "1", "-b", "127.0.0.1:0"],
            cwd=ROOT, env=production_env(DEBUG="0", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
            stdout=out, stderr=out)
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert code != 0, text
    for name in SECRET_NAMES:
        assert name in text, text


def test_demo_mode_generates_its_own_secrets_once(tmp_path):
    """Demo mode (DEBUG off) starts, with secrets of its own that stay the same from one process to the next."""
    script = ("from django.conf import settings as s; "
              "print(s.SECRET_KEY); print(s.SHOPIFY_API_SECRET); print(s.FIELD_ENCRYPTION_KEYS[0])")
    env = production_env(DEBUG="0", DEMO_MODE="1")
    first = manage("shell", "-v", "0", "-c", script, env=env)
    second = manage("shell", "-v", "0", "-c", script, env=env)
    assert first.returncode == 0, first.stderr
    values = first.stdout.split()
    assert values == second.stdout.split() and len(values) == 3
    assert PUBLISHED_SECRET_KEY not in values and PUBLISHED_SHOPIFY_SECRET not in values
    assert PUBLISHED_FIELD_KEY not in values
    stored = ROOT / "var" / "demo-secrets.env"
    assert stored.exists() and stored.stat().st_mode & 0o077 == 0  # readable by its owner only


@pytest.mark.django_db(transaction=True)
def test_login_link_signed_with_the_published_key_is_refused(live_server, shop):
    """The attack: anyone can sign {"shop": 1} with the key this repository used to ship. The running app refuses it
    and writes no session."""
    from django.contrib.sessions.models import Session
    from django.core import signing

    forged = signing.dumps({"shop": shop.pk, "actor": "attacker", "n": "00"}, key=PUBLISHED_SECRET_KEY,
                           salt="dashboard.login-link")
    sessions = Session.objects.count()
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=10) as http:
        res = http.get("/admin/login/link", params={"token": forged})
        assert res.status_code == 403
        assert "sessionid" not in res.cookies
        assert http.get("/admin/").status_code == 302  # still signed out
    assert Session.objects.count() == sessions


@pytest.mark.django_db(transaction=True)
def test_proxy_signature_made_with_the_published_shopify_secret_is_refused(live_server, shop, settings):
    from tests.storefront.test_widget_api import UA, _proxy_query

    path = f"{live_server.url}/api/storefront/proxy/widgets/bestsellers"
    headers = {"User-Agent": UA["HTTP_USER_AGENT"]}
    forged = httpx.get(path, params=_proxy_query(shop.domain, PUBLISHED_SHOPIFY_SECRET), headers=headers, timeout=10)
    assert forged.status_code == 401
    genuine = httpx.get(path, params=_proxy_query(shop.domain, settings.SHOPIFY_API_SECRET), headers=headers,
                        timeout=10)
    assert genuine.status_code == 200
