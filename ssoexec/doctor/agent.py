"""The agent: whether one runs, and whether a run with this profile would be served warm.

It asks the agent `status` and `peek` (which fetches nothing) and never starts one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ssoexec.agent import client, protocol
from ssoexec.agent.paths import AgentDirError, check_dir, socket_path
from ssoexec.agent.warm import AGENT_SWITCH, agent_wanted
from ssoexec.doctor.findings import INFO, OK, PROBLEM, Finding

_ANSWER = 2.0  # seconds: doctor can wait a moment for a busy agent


def check_agent(profile_name: str, region: str | None, env: Mapping[str, str]) -> list[Finding]:
    if not agent_wanted(env):
        why = "not on Windows" if os.name == "nt" else f"turned off ({AGENT_SWITCH}=off)"
        return [Finding(INFO, f"agent: {why}; every run fetches its own credentials")]
    path = socket_path(env)
    if not os.path.lexists(path):
        return [Finding(OK, "agent: none running; a cold run at a terminal starts one")]
    try:
        check_dir(path.parent)
    except AgentDirError as error:
        return [Finding(PROBLEM, f"agent: not used: {error.message}", error.hint)]
    status = client.ask({"op": protocol.STATUS}, first_byte_timeout=_ANSWER, path=path)
    if not status or status.get("ok") is not True:
        return [
            Finding(
                INFO,
                f"agent: a socket at {path}, but no agent of this version answers there",
                "`ssoexec agent start` replaces it (so does the next cold run at a terminal)",
            )
        ]
    peek = client.ask(
        {"op": protocol.PEEK, "key": protocol.request_key(profile_name, region, env)},
        first_byte_timeout=_ANSWER,
        path=path,
    )
    warm = bool(peek and peek.get("warm") is True)
    entries = status.get("entries")
    held = len(entries) if isinstance(entries, list) else 0
    return [
        Finding(OK, f"agent: running (pid {status.get('pid')}), holding {held} answer(s)"),
        Finding(
            OK,
            "agent: a run with this profile would be served warm"
            if warm
            else "agent: a run with this profile would fetch (the agent keeps the answer)",
        ),
    ]
