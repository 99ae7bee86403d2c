"""--debug: diagnostics on stderr, never a secret (at most its last 4 characters)."""

from __future__ import annotations

import logging
import sys


def enable_debug() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ssoexec: debug: %(message)s"))
    logger = logging.getLogger("ssoexec")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def redact(secret: str | None) -> str:
    """`****wxyz`: enough to tell two values apart, too little to use one."""
    if not secret:
        return "<none>"
    return "****" + secret[-4:] if len(secret) > 8 else "****"
