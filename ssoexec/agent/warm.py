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
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ssoexec.environment import RoleCredentials
from ssoexec.regions import is_region_name
from ssoexec.terminal import shorten

if TYPE_CHECKING:
    from ssoexec.plan import RunPlan

log = logging.getLogger(__name__)

AGENT_SWITCH = "SSOEXEC_AGENT"  # "off": never ask, start or feed an agent
# Seconds for the agent's first byte. A wedged agent costs a run this much before it goes the
# cold way (a dead one's socket costs nothing: the connect is refused). 50 ms was too short on
# a busy machine: 32 parallel runs, each a Python starting on 2 cores, kept a healthy agent from
# answering some of them in time, and each of those then fetched for itself.
FIRST_BYTE_TIMEOUT = 0.25


class WarmAnswer(NamedTuple):  # not a dataclass: making one costs a warm run a millisecond
    credentials: RoleCredentials  # its repr shows no secret
    profile_region: str | None


def agent_wanted(environ: Mapping[str, str]) -> bool:
    """Not turned off, and not on Windows (no agent there)."""
    return os.name != "nt" and environ.get(AGENT_SWITCH, "").strip().lower() != "off"


def agent_serves(plan: RunPlan) -> bool:
    """A profile, or a role named in full: `--account` alone asks the portal which role it
    is, so that run goes the cold way."""
    return plan.target is None or plan.target.role is not None


def wire_target(plan: RunPlan) -> list[str] | None:
    """A role named without a profile, as the agent's requests carry it."""
    target = plan.target
    return None if target is None else [target.session, target.account_id, target.role or ""]


def hand_off_applies(environ: Mapping[str, str], *, person_there: bool) -> bool:
    """A cold run hands what it fetched to the agent when the agent is wanted and either one
    runs (its socket is there) or a person is there, so that one may be started."""
    return agent_wanted(environ) and (person_there or trusted_socket() is not None)


def trusted_socket() -> Path | None:
    """The agent's socket, when it is there in a directory that is safely the user's own
    (else another user could have planted a listener there to feed or collect credentials)."""
    from ssoexec.agent.paths import AgentDirError, check_dir, socket_path

    try:
        path = socket_path()
        if not os.path.exists(path):
            return None
        check_dir(path.parent)
    except (AgentDirError, OSError, ValueError) as error:
        log.debug("agent: not used: %s", getattr(error, "message", error))
        return None
    return path


def ask_agent(
    profile_name: str,
    region_option: str | None,
    environ: Mapping[str, str],
    target: list[str] | None = None,
) -> WarmAnswer | None:
    """What the agent holds (or fetches) for this run, or None to go the cold way."""
    path = trusted_socket() if agent_wanted(environ) else None
    if path is None:
        return None
    from ssoexec.agent import client, protocol

    request = {
        "op": protocol.GET,
        "key": protocol.request_key(profile_name, region_option, environ, target),
        "env": protocol.resolution_env(environ),
        "profile": profile_name,
        "region": region_option,
        **({"target": target} if target else {}),
    }
    answer = client.ask(request, first_byte_timeout=FIRST_BYTE_TIMEOUT, path=path)
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
