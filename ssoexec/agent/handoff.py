"""After a cold run: give the agent what the run fetched, without delaying the command.

Right before the exec, the run forks. The fork forks again and exits at once, so what does the
work belongs to no one (not to the command, which might wait for any child, nor to the run,
which is about to become the command); ssoexec waits only for that first, short-lived fork.
The worker leaves the terminal's session, swaps its stdin, stdout and stderr for /dev/null and
closes every other descriptor (`$(ssoexec ... -- cmd)` and pipes end when the command does),
forbids core dumps, starts the agent when none runs and auto-start applies, sends `put`, and
exits. Whatever goes wrong there, nobody hears of it: the command's run is already decided.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ssoexec.agent import client, protocol
from ssoexec.agent.warm import agent_wanted, trusted_socket
from ssoexec.environment import RoleCredentials
from ssoexec.profile import Profile, sso_root
from ssoexec.token_cache import cache_path

log = logging.getLogger(__name__)

_PUT_TIMEOUT = 5


def applies(environ: Mapping[str, str], *, person_there: bool) -> bool:
    """Hand over when the agent is wanted and either one runs (its socket is there) or a
    person is there, so that one may be started."""
    return agent_wanted(environ) and (person_there or trusted_socket() is not None)


def hand_over(
    profile_name: str,
    region_option: str | None,
    environ: Mapping[str, str],
    *,
    credentials: RoleCredentials,
    profile_region: str | None,
    token_file: Path | None,
    may_start: bool,
) -> None:
    """Fork the hand-off and return as soon as the first fork has exited."""
    request = {
        "op": protocol.PUT,
        "key": protocol.request_key(profile_name, region_option, environ),
        "env": protocol.resolution_env(environ),
        "profile": profile_name,
        "region": region_option,
        "credentials": protocol.credentials_to_wire(credentials),
        "profile_region": profile_region,
        "token_file": str(token_file) if token_file is not None else None,
    }
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as error:
        log.debug("no hand-off to the agent: fork failed: %s", error)
        return
    if pid == 0:
        _first_fork(request, may_start)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    log.debug("credentials handed to the agent in the background")


def token_file_of(profile: Profile | None) -> Path | None:
    """The SSO token cache file the profile's credentials come from (the agent forgets them
    when it changes: another sign-in), or None when they are not SSO's."""
    root = sso_root(profile) if profile is not None else None
    return cache_path(root.session.cache_key) if root is not None else None


def _first_fork(request: dict, may_start: bool) -> None:
    """In the first fork: a new session, fork the worker, exit. Never returns."""
    try:
        os.setsid()
        if os.fork() == 0:
            _worker(request, may_start)
    except BaseException:  # noqa: S110 - a fork must never run the caller's code
        pass
    os._exit(0)


def _worker(request: dict, may_start: bool) -> None:
    """The worker: detach from every stream, put, exit. Never returns."""
    try:
        _detach()
        from ssoexec.coredump import forbid_core_dumps

        forbid_core_dumps()  # it holds the credentials until the agent has them
        if _put(request) or not may_start:
            return
        if _start_agent():
            _put(request)
    except BaseException:  # noqa: S110 - nobody is there to be told
        pass
    finally:
        os._exit(0)


def _detach() -> None:
    """stdin, stdout and stderr on /dev/null; every other descriptor closed."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, _max_fd())
    logging.getLogger("ssoexec").handlers.clear()


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (ValueError, OSError):
        return 4096


def _put(request: dict) -> bool:
    """Hand over, only to an agent in a directory safely the user's own."""
    path = trusted_socket()
    if path is None:
        return False
    answer = client.ask(
        request, first_byte_timeout=_PUT_TIMEOUT, total_timeout=_PUT_TIMEOUT, path=path
    )
    return bool(answer and answer.get("ok") is True)


def _start_agent() -> bool:
    """Start one detached (control.start also replaces one of another version)."""
    from ssoexec.agent.control import start
    from ssoexec.errors import SsoexecError

    try:
        start()
    except (SsoexecError, OSError):
        return False
    return True
