"""Refuse to run unsafe: with DEBUG off every secret comes from the environment, and none is a value anyone can read
in this repository (older versions shipped defaults: a key published there signs admin sign-in links for any shop).

Demo mode (`make demo`, the test suite) and DEBUG instead generate random secrets once, into var/demo-secrets.env,
so a laptop needs no configuration and still never runs with a public key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

REQUIRED = ("SECRET_KEY", "SHOPIFY_API_SECRET", "FIELD_ENCRYPTION_KEY")
_PUBLISHED_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production-0123456789"  # noqa: S105 - refused, not used
# The encryption key older versions derived from that public SECRET_KEY: public too.
LEGACY_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(_PUBLISHED_SECRET_KEY.encode()).digest()).decode()
PUBLISHED = {
    "SECRET_KEY": {_PUBLISHED_SECRET_KEY},
    "SHOPIFY_API_SECRET": {"demo-api-secret"},
    "SHOPIFY_API_SECRET_OLD": {"demo-api-secret"},
    "FIELD_ENCRYPTION_KEY": {LEGACY_FIELD_KEY},
}


def split_keys(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def problems(values: Mapping[str, str]) -> list[str]:
    """One line per unsafe secret, naming its variable; empty when all are safe to serve the internet with."""
    found = []
    for name in REQUIRED:
        if not values.get(name, "").strip():
            found.append(f"{name} is not set")
    for name, published in PUBLISHED.items():
        given = split_keys(values.get(name, "")) if name == "FIELD_ENCRYPTION_KEY" else [values.get(name, "")]
        if any(value in published for value in given):
            found.append(f"{name} is a default published in this repository")
    keys = split_keys(values.get("FIELD_ENCRYPTION_KEY", ""))
    if keys and not all(_is_fernet_key(k) for k in keys):
        found.append("FIELD_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64-encoded bytes)")
    return found


def _generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SHOPIFY_API_SECRET": secrets.token_urlsafe(32),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def _read(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def local_secrets(path: Path) -> dict[str, str]:
    """The demo's own secrets: generated on first use, then read back, so every process of a demo (and of a test
    run) agrees. Created owner-only and atomically: two processes starting at once end up with the same file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# Generated for demo mode and DEBUG only; production sets its own in the environment.\n")
            out.writelines(f"{name}={value}\n" for name, value in _generate().items())
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    stored = _read(path)
    missing = [name for name in REQUIRED if not stored.get(name)]
    if missing:
        raise ImproperlyConfigured(f"{path} lacks {', '.join(missing)}; delete it to generate new demo secrets")
    return stored


def resolve(environ: Mapping[str, str], *, local: bool, store: Path) -> dict[str, str]:
    """SECRET_KEY, SHOPIFY_API_SECRET, SHOPIFY_API_SECRET_OLD and FIELD_ENCRYPTION_KEY for the settings.

    With `local` (demo mode or DEBUG) what the environment leaves unset comes from `store`; otherwise an unset or
    published secret stops the process here, before it serves anything."""
    values = {name: environ.get(name, "") for name in (*REQUIRED, "SHOPIFY_API_SECRET_OLD")}
    if local:
        generated = local_secrets(store)
        for name in REQUIRED:
            values[name] = values[name] or generated[name]
        if not environ.get("FIELD_ENCRYPTION_KEY"):
            # Decrypt-only: a demo database written by an older version was encrypted under the old public key.
            values["FIELD_ENCRYPTION_KEY"] += f",{LEGACY_FIELD_KEY}"
        return values
    found = problems(values)
    if found:
        lines = "\n".join(f"  - {line}" for line in found)
        raise ImproperlyConfigured(
            f"Refusing to start with DEBUG off and unsafe secrets:\n{lines}\n"
            "Set each one in the environment (README: Configuration, Production), or run a local demo with "
            "DEMO_MODE=1, which generates its own into var/demo-secrets.env."
        )
    return values
