"""The warm path: the agent's answer for a run, asked before botocore or typer is loaded.

A run that would fetch asks the agent first (`get`). Its answer is the credentials a cold run
would have fetched and the profile's region, and the run builds the command's environment
from them exactly as a cold run does. Anything short of a well-formed answer (no agent, a
stale socket, a wedged or dead agent, another version, garbage, a miss) is None, quietly,
and the run goes the cold way. Stdlib only, with the agent's client and protocol.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ssoexec.environment import RoleCredentials
from ssoexec.regions import is_region_name
from ssoexec.terminal import shorten

log = logging.getLogger(__name__)

AGENT_SWITCH = "SSOEXEC_AGENT"  # "off": never ask, start or feed an agent


@dataclass(frozen=True)
class WarmAnswer:
    credentials: RoleCredentials = field(repr=False)
    profile_region: str | None


def agent_wanted(environ: Mapping[str, str]) -> bool:
    """Not turned off, and not on Windows (no agent there)."""
    return os.name != "nt" and environ.get(AGENT_SWITCH, "").strip().lower() != "off"


def socket_present() -> bool:
    """The agent's socket file is there (an agent runs, or one died and left it)."""
    from ssoexec.agent.paths import socket_path

    try:
        return os.path.exists(socket_path())
    except (OSError, ValueError):
        return False


def ask_agent(
    profile_name: str, region_option: str | None, environ: Mapping[str, str]
) -> WarmAnswer | None:
    """What the agent holds (or fetches) for this run, or None to go the cold way."""
    if not agent_wanted(environ) or not socket_present():
        return None
    from ssoexec.agent import client, protocol

    answer = client.ask(
        {
            "op": protocol.GET,
            "key": protocol.request_key(profile_name, region_option, environ),
            "env": protocol.resolution_env(environ),
            "profile": profile_name,
            "region": region_option,
        }
    )
    if not answer or answer.get("ok") is not True:
        log.debug("agent: no warm answer (%s)", _why(answer))
        return None
    credentials = protocol.credentials_from_wire(answer.get("credentials"))
    profile_region = answer.get("profile_region")
    if credentials is None or not (
        profile_region is None
        or (isinstance(profile_region, str) and is_region_name(profile_region))
    ):
        log.debug("agent: an answer that is not well-formed; going the cold way")
        return None
    log.debug("agent: credentials for %s served warm", profile_name)
    return WarmAnswer(credentials, profile_region)


def _why(answer: dict | None) -> str:
    if answer is None:
        return "no agent, or no answer from it"
    miss = answer.get("miss")
    return f"miss: {shorten(miss)}" if isinstance(miss, str) else "miss"
