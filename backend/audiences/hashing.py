"""SHA-256 as both platforms want it: UTF-8 bytes in, 64 lower-case hex characters out."""
from __future__ import annotations

import hashlib
import re

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_sha256_hex(value: str) -> bool:
    return bool(SHA256_HEX.match(value))


def digest_of(row: str) -> int:
    """A signed 64-bit fingerprint of a hashed row (fits a BigIntegerField), to notice a changed row cheaply."""
    return int.from_bytes(hashlib.sha256(row.encode("utf-8")).digest()[:8], "big", signed=True)
