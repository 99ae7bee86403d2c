"""Local HTTP emulator of the AWS SSO portal, SSO-OIDC and STS APIs for tests.

with Emulator() as emu:
    monkeypatch.setenv(...emu.endpoint_env())
"""

from __future__ import annotations

from .core import Emulator
from .models import DEFAULT_ACCOUNTS, Account, organisation

__all__ = ["DEFAULT_ACCOUNTS", "Account", "Emulator", "organisation"]
