"""What `ssoexec doctor` reports: findings, one line each, with what to do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ssoexec.debug import redact

OK, INFO, PROBLEM = "OK", "INFO", "PROBLEM"


@dataclass(frozen=True)
class Finding:
    level: str  # OK, INFO or PROBLEM
    message: str
    hint: str = ""


def shown(path: Path) -> str:
    """A path under HOME as ~/..., as people write it."""
    home = Path(os.path.expanduser("~"))
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def masked_key_id(key_id: str) -> str:
    """`AKIA****WXYZ`: the prefix tells a long-lived key (AKIA) from a temporary one (ASIA)."""
    return key_id[:4] + redact(key_id)
