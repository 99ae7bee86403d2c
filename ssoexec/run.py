"""`ssoexec [-p PROFILE] [--region R] [--] COMMAND...`: credentials -> environment -> exec.

Shared by the console script's fast path (entry.py) and the typer app (cli.py). botocore is
loaded only when the credentials must be fetched: a nested run that reuses inherited
credentials never loads it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from ssoexec import environment, process
from ssoexec.credentials import RoleCredentials
from ssoexec.errors import EXIT_NOT_FOUND, CommandError

log = logging.getLogger(__name__)


def run(
    command: list[str],
    *,
    profile_name: str,
    region: str | None,
    login: str = "auto",
    server: bool = False,
) -> NoReturn:
    """Resolve the profile's credentials and exec `command` (the user's shell if empty);
    with `server`, run it as a child fed by a refreshing credentials endpoint instead."""
    if not command:
        command = [user_shell()]
    if not command[0]:  # as env(1): `env ''` is "No such file or directory", exit 127
        raise CommandError(
            "the command name is empty (an unset variable?)",
            "give the program to run after `--`",
            exit_code=EXIT_NOT_FOUND,
        )
    env = _inherited_endpoint_env(profile_name, region)  # nested in a --server child
    if env is None and server:
        sys.exit(serve(command, profile_name=profile_name, region=region, login=login))
    if env is None:
        credentials, region = resolve(profile_name, region=region, login=login)
        log.debug("credentials %s", credentials)
        env = environment.build_child_env(
            os.environ, profile_name=profile_name, credentials=credentials, region=region
        )
    if log.isEnabledFor(logging.DEBUG):
        removed = sorted(set(os.environ) - set(env))
        changed = sorted(k for k in env if os.environ.get(k) != env[k])
        log.debug("environment: set %s; removed %s", ", ".join(changed), ", ".join(removed))
        log.debug("exec %r", command)
    process.exec_command(command, env)


def resolve(
    profile_name: str, *, region: str | None, login: str = "auto"
) -> tuple[RoleCredentials, str | None]:
    """The profile's credentials and the region the command sees.

    Inside an ssoexec child for the same profile, the inherited credentials (no AWS call).
    `login` "auto" signs in when the SSO token is missing, expired or refused, if a person
    is there to do it; "never" (or nobody there: CI, no terminal) fails at once instead.
    """
    credentials = environment.inherited_credentials(os.environ, profile_name)
    if credentials is not None:
        log.debug("reusing the credentials this ssoexec child was given for %s", profile_name)
        return credentials, environment.resolve_region(region, os.environ, None)
    from ssoexec.credentials import fetch_credentials
    from ssoexec.profile import load_profile

    profile = load_profile(profile_name)
    log.debug("profile %s", profile)
    resolved = environment.resolve_region(region, os.environ, profile.region)
    log.debug(
        "region %s (--region %s, AWS_REGION %s, AWS_DEFAULT_REGION %s, profile %s)",
        resolved,
        region,
        os.environ.get("AWS_REGION"),
        os.environ.get("AWS_DEFAULT_REGION"),
        profile.region,
    )
    credentials = fetch_credentials(
        profile,
        region=resolved,
        login=_sign_in_if_possible(login, profile_name),
        ask_mfa=login == "auto",
    )
    return credentials, resolved


def serve(command: list[str], *, profile_name: str, region: str | None, login: str) -> int:
    """--server: the command runs as our child and gets its credentials from a loopback
    endpoint, refreshed in memory for as long as it runs. Returns its exit status."""
    from ssoexec.coredump import forbid_core_dumps
    from ssoexec.credentials import fetch_credentials
    from ssoexec.profile import load_profile
    from ssoexec.server import CredentialServer

    forbid_core_dumps()  # it holds every secret for as long as the command runs
    profile = load_profile(profile_name)
    region = environment.resolve_region(region, os.environ, profile.region)
    first = fetch_credentials(
        profile,
        region=region,
        login=_sign_in_if_possible(login, profile_name),
        ask_mfa=login == "auto",
    )
    # Refreshes never sign in or ask for an MFA code: the command owns the terminal by then.
    server = CredentialServer(
        lambda: fetch_credentials(profile, region=region, ask_mfa=False), first
    ).start()
    try:
        env = environment.build_server_env(
            os.environ,
            profile_name=profile_name,
            uri=server.uri,
            authorization=server.token,
            region=region,
        )
        log.debug("serving credentials at %s for %r", server.uri, command)
        return process.supervise(command, env)
    finally:
        server.stop()


def _inherited_endpoint_env(profile_name: str, region: str | None) -> dict[str, str] | None:
    """Inside an ssoexec --server child for the same profile, a nested run (server or not)
    shares the outer endpoint: always fresh, and no AWS call."""
    inherited = environment.inherited_server(os.environ, profile_name)
    if inherited is None:
        return None
    log.debug("sharing the credentials endpoint this ssoexec child was given")
    uri, token = inherited
    return environment.build_server_env(
        os.environ,
        profile_name=profile_name,
        uri=uri,
        authorization=token,
        region=environment.resolve_region(region, os.environ, None),
    )


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


def person_there() -> bool:
    """Someone at a terminal who can finish a sign-in: never in CI, never without a TTY."""
    if os.environ.get("CI"):
        return False
    return sys.stdin.isatty() or sys.stderr.isatty()


def _sign_in_if_possible(mode: str, profile_name: str):
    if mode != "auto" or not person_there():
        return None

    def sign_in(session):
        from ssoexec.login import sign_in

        return sign_in(session, profile_name=profile_name)

    return sign_in
