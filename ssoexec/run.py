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

log = logging.getLogger(__name__)


def run(
    command: list[str], *, profile_name: str, region: str | None, login: str = "auto"
) -> NoReturn:
    """Resolve the profile's credentials and exec `command` (the user's shell if empty).

    `login` "auto" signs in when the SSO token is missing, expired or refused, if a person
    is there to do it; "never" (or nobody there: CI, no terminal) fails at once instead.
    """
    if not command:
        command = [user_shell()]
    credentials = environment.inherited_credentials(os.environ, profile_name)
    if credentials is not None:
        log.debug("reusing the credentials this ssoexec child was given for %s", profile_name)
        region = environment.resolve_region(region, os.environ, None)
    else:
        from ssoexec.credentials import fetch_credentials
        from ssoexec.profile import load_profile

        profile = load_profile(profile_name)
        log.debug("profile %s", profile)
        explicit = region
        region = environment.resolve_region(explicit, os.environ, profile.region)
        log.debug(
            "region %s (--region %s, AWS_REGION %s, AWS_DEFAULT_REGION %s, profile %s)",
            region,
            explicit,
            os.environ.get("AWS_REGION"),
            os.environ.get("AWS_DEFAULT_REGION"),
            profile.region,
        )
        credentials = fetch_credentials(
            profile, region=region, login=_sign_in_if_possible(login, profile_name)
        )
    env = environment.build_child_env(
        os.environ, profile_name=profile_name, credentials=credentials, region=region
    )
    if log.isEnabledFor(logging.DEBUG):
        removed = sorted(set(os.environ) - set(env))
        changed = sorted(k for k in env if os.environ.get(k) != env[k])
        log.debug("environment: set %s; removed %s", ", ".join(changed), ", ".join(removed))
        log.debug("exec %r with %s", command, credentials)
    process.exec_command(command, env)


def user_shell() -> str:
    return os.environ.get("SHELL") or "/bin/sh"


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
