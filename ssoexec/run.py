"""`ssoexec [-p PROFILE] [--region R] [--] COMMAND...`: plan -> credentials -> environment -> exec.

Shared by the console script's fast path (entry.py) and the typer app (cli.py). What the run
does (reuse what an outer ssoexec gave, serve, or fetch) is decided by plan.py; a run that
would fetch asks the agent first (agent/warm.py), and else resolve.py gets the credentials and
agent/handoff.py gives them to the agent; environment.py builds the command's environment;
process.py runs it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from ssoexec import process
from ssoexec.agent.warm import agent_serves, ask_agent, wire_target
from ssoexec.errors import EXIT_NOT_FOUND, CommandError
from ssoexec.plan import SERVE, RunPlan, child_env, difference, plan_run

if TYPE_CHECKING:
    from ssoexec.direct import DirectTarget
    from ssoexec.resolve import Resolved

log = logging.getLogger(__name__)


def run(
    command: list[str],
    *,
    profile_name: str,
    region: str | None,
    login: str = "auto",
    server: bool = False,
    target: DirectTarget | None = None,
) -> NoReturn:
    """Resolve the profile's credentials (`target`'s instead, if given) and exec `command`
    (the user's shell if empty); with `server`, run it as a child fed by a refreshing
    credentials endpoint instead."""
    if not command:
        command = [user_shell()]
    if not command[0]:  # as env(1): `env ''` is "No such file or directory", exit 127
        raise CommandError(
            "the command name is empty (an unset variable?)",
            "give the program to run after `--`",
            exit_code=EXIT_NOT_FOUND,
        )
    plan = plan_run(
        os.environ, profile_name=profile_name, region=region, server=server, target=target
    )
    log.debug("plan: %s", plan.action)
    if plan.action == SERVE:
        sys.exit(serve(command, plan, login=login))
    if plan.reuses:  # no AWS call: what the outer ssoexec gave (its endpoint stays fresh)
        env = child_env(plan, os.environ, region=plan.region(os.environ).name)
    elif (
        agent_serves(plan)
        and (
            warm := ask_agent(plan.profile_name, plan.region_option, os.environ, wire_target(plan))
        )
        is not None
    ):
        # What the agent holds for this very run (same profile, files, environment): the
        # answer a cold run would get, with no AWS call and without loading botocore.
        region = plan.region(os.environ, warm.profile_region)
        env = child_env(plan, os.environ, region=region.name, credentials=warm.credentials)
    else:
        # Only here: a nested run that reuses what it was given never loads the profile,
        # token and credentials code (nor botocore), which would triple its cost.
        from ssoexec.resolve import resolve

        resolved = resolve(plan, os.environ, login=login)
        env = child_env(
            resolved.plan, os.environ, region=resolved.region.name, credentials=resolved.credentials
        )
        if agent_serves(plan):
            hand_over(plan, resolved)
    if log.isEnabledFor(logging.DEBUG):
        changed, removed = difference(os.environ, env)
        log.debug("environment: set %s; removed %s", ", ".join(changed), ", ".join(removed))
        log.debug("exec %r", command)
    process.exec_command(command, env)


def hand_over(plan: RunPlan, resolved: Resolved) -> None:
    """Give the agent what this cold run fetched, so the next one is warm: from a helper
    process spawned in the background, when an agent runs or a person is there to start one."""
    from ssoexec.agent.warm import hand_off_applies
    from ssoexec.choices import person_there

    there = person_there()
    if not hand_off_applies(os.environ, person_there=there):
        log.debug("agent: no hand-off (off, or none runs and nobody is there to start one)")
        return
    # Only now: a cold run with no agent to feed loads none of the hand-off's code.
    from ssoexec.agent import handoff
    from ssoexec.agent.fetch import token_file_of
    from ssoexec.resolve import profile_region

    handoff.hand_over(
        plan.profile_name,
        plan.region_option,
        os.environ,
        credentials=resolved.credentials,
        profile_region=profile_region(resolved.profile) if resolved.profile else None,
        token_file=token_file_of(resolved.profile) if resolved.profile else None,
        may_start=there,
        target=wire_target(plan),
    )


def serve(command: list[str], plan: RunPlan, *, login: str) -> int:
    """--server: the command runs as our child and gets its credentials from a loopback
    endpoint, refreshed in memory for as long as it runs. Returns its exit status."""
    from ssoexec.coredump import forbid_core_dumps
    from ssoexec.resolve import resolve
    from ssoexec.server import CredentialServer

    forbid_core_dumps()  # it holds every secret for as long as the command runs
    resolved = resolve(plan, os.environ, login=login)
    server = CredentialServer(resolved.refetch, resolved.credentials).start()
    try:
        env = child_env(
            resolved.plan,
            os.environ,
            region=resolved.region.name,
            endpoint=(server.uri, server.token),
        )
        log.debug("serving credentials at %s for %r", server.uri, command)
        return process.supervise(command, env)
    finally:
        server.stop()


_SHELLS = frozenset(
    "bash zsh fish sh dash ksh mksh yash tcsh csh nu xonsh elvish pwsh powershell cmd".split()  # noqa: SIM905
)


def user_shell() -> str:
    """$SHELL, else the shell we were started from (found with psutil), else /bin/sh
    (%ComSpec% on Windows)."""
    if os.environ.get("SHELL"):
        return os.environ["SHELL"]
    import psutil  # only here: it stays off the plain exec path

    try:
        for ancestor in psutil.Process().parents():
            name = ancestor.name().lower().removesuffix(".exe").lstrip("-")
            if name in _SHELLS:
                return ancestor.exe() or name
    except psutil.Error:
        pass
    return os.environ.get("COMSPEC", "cmd.exe") if os.name == "nt" else "/bin/sh"
