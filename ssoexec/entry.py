"""The console script. Recognises the plain run form before loading anything heavy.

`ssoexec [-p P] [--region R] [--debug] [--] COMMAND...` is by far the commonest call, and it is
on every Makefile line: it goes straight to run.py without loading typer (whose import and app
set-up cost more than resolving the credentials). So does `credential-process [-p P]`, which
SDKs call for every client they make: the agent first, then the cold path, never typer.
Anything else (subcommands, --help,
--version, unknown options, malformed input) goes to the typer app in cli.py, which owns the
command-line interface; tests/test_entry.py checks that both read every input alike.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from ssoexec.choices import LOGIN_MODES, login_mode, profile_name, server_mode
from ssoexec.errors import exit_on_error

if TYPE_CHECKING:
    from ssoexec.direct import DirectTarget

SUBCOMMANDS = frozenset(
    {
        "agent",
        "completion",
        "configure",
        "console",
        "credential-process",
        "doctor",
        "export",
        "list",
        "login",
        "logout",
    }
)
CREDENTIAL_PROCESS = "credential-process"
COMPLETE_PROFILES = "__complete-profiles"  # asked by the shell completion scripts
_VALUE_OPTIONS = {
    "-p": "profile",
    "--profile": "profile",
    "--region": "region",
    "--login": "login",
    "--sso-session": "sso_session",
    "--account": "account",
    "--role": "role",
}
_FLAGS = {"--debug": "debug", "--server": "server"}


@dataclass(frozen=True)
class RunRequest:
    profile: str | None = None
    region: str | None = None
    login: str | None = None
    debug: bool = False
    server: bool = False
    sso_session: str | None = None  # --sso-session, --account, --role: see direct.py
    account: str | None = None
    role: str | None = None
    command: list[str] = field(default_factory=list)


def parse_run(argv: list[str]) -> RunRequest | None:
    """The run form's options and command, or None for whatever the typer app must handle."""
    seen: dict[str, str | bool] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            return RunRequest(**seen, command=argv[index + 1 :])
        if not arg.startswith("-") or arg == "-":
            return None if arg in SUBCOMMANDS else RunRequest(**seen, command=argv[index:])
        if arg in _FLAGS:
            seen[_FLAGS[arg]] = True
            index += 1
            continue
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
        else:
            name, equals, value = arg[:2], arg[2:3], arg[2:]
        if name not in _VALUE_OPTIONS:
            return None
        if not equals:
            index += 1
            value = argv[index] if index < len(argv) else ""
        if not value or value.startswith("-"):
            return None  # missing or odd value: let the full parser explain
        if name == "--login" and value not in LOGIN_MODES:
            return None
        seen[_VALUE_OPTIONS[name]] = value
        index += 1
    return RunRequest(**seen)


class CredentialProcessRequest(NamedTuple):  # cheaper to define than a dataclass
    profile: str | None = None
    region: str | None = None
    sso_session: str | None = None  # --sso-session, --account, --role: see direct.py
    account: str | None = None
    role: str | None = None


def parse_credential_process(argv: list[str]) -> CredentialProcessRequest | None:
    """`[-p P] [--region R] credential-process [-p P | --sso-session S --account A [--role
    R]]`, the subcommand's -p first; None for any other form (the typer app reads and checks
    those, and a -p next to the role's options)."""
    if CREDENTIAL_PROCESS not in argv:
        return None
    at = argv.index(CREDENTIAL_PROCESS)
    before = _value_options(argv[:at], ("-p", "--profile", "--region"))
    after = _value_options(
        argv[at + 1 :], ("-p", "--profile", "--sso-session", "--account", "--role")
    )
    if before is None or after is None:
        return None
    request = CredentialProcessRequest(
        profile=after.pop("profile", None) or before.get("profile"),
        region=before.get("region"),
        **after,
    )
    if after and (request.profile is not None):
        return None
    return request


def _value_options(args: list[str], names: tuple[str, ...]) -> dict[str, str] | None:
    """`args` read as value options among `names` alone, or None for anything else."""
    seen: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
        else:
            name, equals, value = arg[:2], arg[2:3], arg[2:]
        if name not in names:
            return None
        if not equals:
            index += 1
            value = args[index] if index < len(args) else ""
        if not value or value.startswith("-"):
            return None
        seen[_VALUE_OPTIONS[name]] = value
        index += 1
    return seen


def credential_process(request: CredentialProcessRequest) -> None:
    """`credential-process` without typer: SDKs call it for every client they make, and the
    typer app's import and set-up would cost more than the credentials. The agent first,
    then the cold path."""
    target = None
    if request.sso_session or request.account or request.role:
        from ssoexec.direct import target_from_options

        target = target_from_options(
            profile_given=False,
            sso_session=request.sso_session,
            account=request.account,
            role=request.role,
        )
    if warm_credential_process(request.profile, request.region, target):
        return
    from ssoexec.export import credential_process as cold

    cold(profile_name(request.profile), region=request.region, target=target)


def warm_credential_process(
    profile_option: str | None, region: str | None, target: DirectTarget | None
) -> bool:
    """Print what the agent holds as `credential-process` does; False (for the cold path)
    when it holds nothing, or when the cold path has more to say (a loop through
    credential_process, inherited credentials, a bad region)."""
    from ssoexec.agent.warm import agent_serves, ask_agent, wire_target
    from ssoexec.credential_json import profile_chain, version1
    from ssoexec.errors import SsoexecError
    from ssoexec.plan import FETCH, plan_for_keys

    name = profile_name(profile_option)
    if target is None and name in profile_chain(os.environ):
        return False
    plan = plan_for_keys(os.environ, profile_name=name, region=region, target=target)
    if plan.action != FETCH or not agent_serves(plan):
        return False
    warm = ask_agent(plan.profile_name, region, os.environ, wire_target(plan))
    if warm is None:
        return False
    try:
        plan.region(os.environ, warm.profile_region)  # as the cold path, which checks it
    except SsoexecError:
        return False
    sys.stdout.write(version1(warm.credentials))
    sys.stdout.flush()
    return True


def main() -> NoReturn:
    argv = sys.argv[1:]
    if argv[:1] == [COMPLETE_PROFILES]:  # on every <TAB>: keep it fast, no typer, no botocore
        from ssoexec.completion import print_profile_names

        print_profile_names(argv[1:])
        sys.exit(0)
    if argv[:2] == ["agent", "fetch"]:  # on every miss of the agent: no typer either
        from ssoexec.agent.fetch import main as fetch

        exit_on_error(lambda: fetch(argv[2:]))
    request = parse_run(argv)
    if request is None:
        asked = parse_credential_process(argv)
        if asked is not None:
            exit_on_error(lambda: credential_process(asked))
    if request is None or login_mode(request.login) not in LOGIN_MODES:
        from ssoexec import cli

        cli.main(argv)
    if request.debug:
        from ssoexec.debug import enable_debug

        enable_debug()

    def run() -> None:
        from ssoexec.run import run

        target = None
        if request.sso_session or request.account or request.role:
            from ssoexec.direct import target_from_options  # a nested -p run stays as lean

            target = target_from_options(
                profile_given=request.profile is not None,
                sso_session=request.sso_session,
                account=request.account,
                role=request.role,
            )
        run(
            request.command,
            profile_name=profile_name(request.profile),
            region=request.region,
            login=login_mode(request.login),
            server=request.server or server_mode(),
            target=target,
        )

    exit_on_error(run)
