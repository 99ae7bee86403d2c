"""`ssoexec agent fetch`: the cold path, run by the agent in a child process.

It resolves the profile (or the role named with --sso-session/--account/--role) exactly as a
run would (resolve.py), never signing in or prompting, and prints one JSON line on stdout,
which the agent reads over a pipe:
`{"credentials": CREDENTIALS, "profile_region": str|null, "token_file": path|null}` and exit 0,
or `{"miss": REASON, "token_file": path|null}` and exit 125. REASON is the kind of failure,
never its text (which may quote AWS or a file). `token_file` is the SSO token cache file the
credentials came from: the agent drops them when that file changes.
"""

from __future__ import annotations

import json
import os
import sys

from ssoexec.agent import protocol
from ssoexec.clients import Aws
from ssoexec.coredump import forbid_core_dumps
from ssoexec.direct import DirectTarget, target_from_options
from ssoexec.errors import EXIT_FAILURE, EXIT_USAGE, SsoexecError
from ssoexec.plan import plan_for_keys
from ssoexec.profile import Profile, sso_root
from ssoexec.resolve import plan_profile, profile_region, resolve
from ssoexec.token_cache import cache_path

# The options the agent writes (store.py), each as `--name=value` or `--name value`.
_OPTIONS = {
    "-p": "profile",
    "--profile": "profile",
    "--region": "region",
    "--sso-session": "sso_session",
    "--account": "account",
    "--role": "role",
}


def main(argv: list[str]) -> int:
    """`ssoexec agent fetch OPTIONS`, without typer (the agent runs it on every miss); a
    mistake in OPTIONS is a usage error, as for any command."""
    options: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        if name not in _OPTIONS or (name == "-p" and equals):
            raise _usage(f"agent fetch takes no {name!r} option")
        if not equals:
            value = next(words, None)
            if value is None:
                raise _usage(f"{name} needs a value")
        options[_OPTIONS[name]] = value
    target = target_from_options(
        profile_given="profile" in options,
        sso_session=options.get("sso_session"),
        account=options.get("account"),
        role=options.get("role"),
    )
    if not options.get("profile") and target is None:
        raise _usage("agent fetch needs -p")
    return fetch_for_agent(options.get("profile", ""), options.get("region"), target)


def _usage(message: str) -> SsoexecError:
    return SsoexecError(message, "it is run by the agent, not by hand", exit_code=EXIT_USAGE)


def fetch_for_agent(profile_name: str, region: str | None, target: DirectTarget | None) -> int:
    forbid_core_dumps()  # it holds the credentials until they are written to the pipe
    token_file = None
    try:
        plan = plan_for_keys(os.environ, profile_name=profile_name, region=region, target=target)
        aws = Aws() if target is not None else Aws(profile_name)
        plan, profile = plan_profile(plan, aws, None)
        token_file = token_file_of(profile)
        credentials = resolve(plan, os.environ, login="never").credentials
    except Exception as error:  # every failure is a miss: the run then goes the cold way
        _write({"miss": type(error).__name__, "token_file": token_file})
        return EXIT_FAILURE
    _write(
        {
            "credentials": protocol.credentials_to_wire(credentials),
            "profile_region": profile_region(profile),
            "token_file": token_file,
        }
    )
    return 0


def token_file_of(profile: Profile) -> str | None:
    """The SSO token cache file the profile's credentials come from (at the root of its role
    chain), or None when they do not come from SSO: what a `put` names as `token_file`."""
    root = sso_root(profile)
    return str(cache_path(root.session.cache_key)) if root else None


def _write(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
