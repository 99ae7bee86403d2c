"""Pure: RoleCredentials -> the `credential_process` JSON (aws-protocol.md §7.4), and the
chain of profiles that guards against a credential_process loop.

The agent carries credentials in the same fields (without `Version`), so a warm
`credential-process` prints exactly what a cold one does. Stdlib only: the fast client loads
this before (and instead of) botocore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ssoexec.agent.protocol import credentials_to_wire
from ssoexec.environment import RoleCredentials

# Profiles being resolved by the credential-process calls above this one (a JSON list): a
# profile whose credential_process runs ssoexec for itself would otherwise fork forever.
PROFILE_CHAIN = "_SSOEXEC_PROFILE_CHAIN"


def version1(credentials: RoleCredentials) -> str:
    """The line `credential-process` prints: the agent's wire fields are the same ones."""
    return json.dumps({"Version": 1, **credentials_to_wire(credentials)}) + "\n"


def profile_chain(env: Mapping[str, str]) -> list[str]:
    """The profiles the credential-process calls above this one are resolving."""
    try:
        chain = json.loads(env.get(PROFILE_CHAIN) or "[]")
    except ValueError:
        return []
    return [name for name in chain if isinstance(name, str)] if isinstance(chain, list) else []
