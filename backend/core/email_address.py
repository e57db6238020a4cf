"""What we accept as an email address typed into a storefront (popup email capture): one checked address or a
ValueError saying what is wrong, so junk is refused with a reason instead of stored."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

MAX_LENGTH = 254  # RFC 5321's limit on a forward path
MAX_LOCAL = 64
# A public address: a dotted domain whose last label is letters (no "localhost", no [IP literal]).
_PUBLIC_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
_validate = EmailValidator(allowlist=[])


def clean_email(raw: object) -> str:
    """The address trimmed and lower-cased; ValueError (with the reason) when it is not a deliverable-looking
    public address of sane length."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("email missing")
    email = raw.strip().lower()
    if len(email) > MAX_LENGTH:
        raise ValueError(f"email longer than {MAX_LENGTH} characters")
    local, at, domain = email.rpartition("@")
    if not at:
        raise ValueError("email is not a valid address")
    if not local or len(local) > MAX_LOCAL:
        raise ValueError(f"email must have a name of 1-{MAX_LOCAL} characters before the @")
    try:
        _validate(email)
    except ValidationError:
        raise ValueError("email is not a valid address") from None
    try:
        ascii_domain = domain.encode("idna").decode("ascii")  # "café.es" is fine, checked as xn--caf-dma.es
    except UnicodeError:
        raise ValueError("email domain is not a valid domain name") from None
    if not _PUBLIC_DOMAIN.fullmatch(ascii_domain):
        raise ValueError("email domain is not a public domain name")
    return email
