"""`ssoexec [-p PROFILE] [--region R] [--] COMMAND...`: credentials -> environment -> exec.

Shared by the console script's fast path (entry.py) and the typer app (cli.py). botocore is
loaded only when the credentials must be fetched: a nested run that reuses inherited
credentials never loads it.
"""

from __future__ import annotations

import logging
import os
from typing import NoReturn

from ssoexec import environment, process

log = logging.getLogger(__name__)


def run(command: list[str], *, profile_name: str, region: str | None) -> NoReturn:
    """Resolve the profile's credentials and exec `command` (the user's shell if empty)."""
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
        log.debug("profile %s: %s", profile.name, profile.kind)
        region = environment.resolve_region(region, os.environ, profile.region)
        credentials = fetch_credentials(profile, region=region)
    env = environment.build_child_env(
        os.environ, profile_name=profile_name, credentials=credentials, region=region
    )
    log.debug("running %r with %s, region %s", command[0], credentials, region)
    process.exec_command(command, env)


def user_shell() -> str:
    return os.environ.get("SHELL") or "/bin/sh"
