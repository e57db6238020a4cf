"""Secrets at rest: Fernet with a rotatable key list (MultiFernet encrypts with the first, decrypts with any)."""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with any configured FIELD_ENCRYPTION_KEY") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (run by `manage.py rotate_encryption_key`)."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code only ever sees plaintext."""

    def from_db_value(self, value, expression, connection):  # noqa: ANN001 - Django hook signature
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):  # noqa: ANN001
        if value is None or value == "":
            return value
        return encrypt(str(value))
