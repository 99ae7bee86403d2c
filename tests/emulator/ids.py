"""Generators for identifiers and secrets shaped like the real ones."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SECRET_CHARS = string.ascii_letters + string.digits + "/+"
_CODE_CHARS = "BCDFGHJKLMNPQRSTVWXZ"  # user codes avoid vowels, like the real ones


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def access_key_id(prefix: str) -> str:
    """'ASIA'/'AKIA' + 16 upper-case alphanumerics."""
    return prefix + _random(_UPPER_ALNUM, 16)


def secret_access_key() -> str:
    return _random(_SECRET_CHARS, 40)


def session_token() -> str:
    return "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(330)).decode()


def opaque(prefix: str = "", nbytes: int = 48) -> str:
    """A URL-safe opaque token (access/refresh tokens, codes, client ids)."""
    return prefix + secrets.token_urlsafe(nbytes)


def user_code() -> str:
    return f"{_random(_CODE_CHARS, 4)}-{_random(_CODE_CHARS, 4)}"


def stable_hex(*parts: str, n: int = 16) -> str:
    """Deterministic hex digits derived from parts."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:n]


def stable_id(prefix: str, *parts: str) -> str:
    """Deterministic IAM unique id such as 'AROA' + 17 upper-case characters."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:17]
