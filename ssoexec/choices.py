"""What the user chose, from options and the environment: the profile, the sign-in mode,
server mode, and whether a person is there to sign in. Read by the console script's fast path
(entry.py), the typer app (cli.py) and doctor alike."""

from __future__ import annotations

import os
import sys

PROFILE_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
LOGIN_MODES = ("auto", "never")


def profile_name(option: str | None) -> str:
    """-p, else AWS_PROFILE, else AWS_DEFAULT_PROFILE (the first non-empty), else default."""
    return option or next((os.environ[n] for n in PROFILE_ENV if os.environ.get(n)), "default")


def login_mode(option: str | None) -> str:
    """--login, else SSOEXEC_LOGIN, else auto."""
    return option or os.environ.get("SSOEXEC_LOGIN") or "auto"


def server_mode() -> bool:
    """SSOEXEC_SERVER=1 (or true, yes) asks for --server."""
    return os.environ.get("SSOEXEC_SERVER", "").lower() in ("1", "true", "yes")


def person_there() -> bool:
    """Someone at a terminal who can finish a sign-in: never in CI, never without a TTY."""
    if os.environ.get("CI"):
        return False
    return sys.stdin.isatty() or sys.stderr.isatty()
