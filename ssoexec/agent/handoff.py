"""After a cold run: give the agent what the run fetched, without delaying the command.

Right before the exec, the run writes the `put` request into a pipe and spawns the helper
that delivers it: a fresh, small interpreter (`posix_spawn`, about half a millisecond; a fork of
the run itself, botocore and all, measured 20 ms and more on a busy machine, with copy-on-write
faults after). It is started in the background by a `sh` the run waits for (a millisecond or
two), so it is nobody's child once the run becomes the command: the command never sees it
among its children (a program that waits for "any child" could otherwise reap it and take its
status for one of its own), and no zombie is left behind. The helper gets the pipe as stdin,
/dev/null as stdout and stderr, and a session of its own: it holds none of the command's
streams, so `$(ssoexec ... -- cmd)` and pipes end when the command does, and a Ctrl-C at the
terminal does not reach it. It forbids core dumps, starts the agent when none runs and
auto-start applies (else asks one of another version to stop), sends `put`, and exits; what
goes wrong there, nobody hears of (the command's run is decided). The secrets travel in the
pipe only, never in argv or a file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping

from ssoexec.agent import client, protocol
from ssoexec.agent.warm import trusted_socket
from ssoexec.environment import RoleCredentials

log = logging.getLogger(__name__)

_PUT_TIMEOUT = 5  # seconds for the agent to take the credentials
START = "start"  # the helper's argument: it may start an agent when none runs
# Run with -I (no PYTHON* variables, no user site); '' (the current directory, which could
# hold a planted ssoexec/) is taken off sys.path before ssoexec is imported.
_HELPER = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "from ssoexec.agent.handoff import main; main(sys.argv[1:])"
)
# The shell starts the helper in the background with the pipe (fd 3) as its stdin and exits:
# an asynchronous list's stdin would otherwise be /dev/null.
_IN_THE_BACKGROUND = '"$0" "$@" <&3 3<&- &'


def hand_over(
    profile_name: str,
    region_option: str | None,
    environ: Mapping[str, str],
    *,
    credentials: RoleCredentials,
    profile_region: str | None,
    token_file: str | None,
    may_start: bool,
    target: list[str] | None = None,
) -> None:
    """Spawn the helper that delivers the credentials; returns at once."""
    request = {
        "op": protocol.PUT,
        "key": protocol.request_key(profile_name, region_option, environ, target),
        **({"target": target} if target else {}),
        "env": protocol.resolution_env(environ),
        "profile": profile_name,
        "region": region_option,
        "credentials": protocol.credentials_to_wire(credentials),
        "profile_region": profile_region,
        "token_file": token_file,
    }
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(write_end, False)  # never wait: the line fits the pipe or is dropped
        os.write(write_end, protocol.encode(request))
        os.close(write_end)
        write_end = -1
        os.set_inheritable(read_end, True)  # (if it is fd 3 already, DUP2 keeps it open)
        shell = os.posix_spawn(
            "/bin/sh",
            ["sh", "-c", _IN_THE_BACKGROUND, sys.executable, "-I", "-c", _HELPER]
            + ([START] if may_start else []),
            dict(environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, read_end, 3),
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
            setsid=True,
        )
        os.waitpid(shell, 0)
        log.debug("agent: credentials handed over in the background")
    except (OSError, ValueError) as error:  # a full pipe, an oversize request, no spawn
        log.debug("agent: no hand-off: %s", error)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def main(argv: list[str]) -> None:
    """The helper: the request from stdin, to the agent (started first if it may be)."""
    try:
        from ssoexec.coredump import forbid_core_dumps

        forbid_core_dumps()  # it holds the credentials until the agent has them
        request = json.loads(sys.stdin.buffer.readline(protocol.MAX_LINE))
        _detach()
        if _put(request):
            return
        if START in argv:  # a person is there: start one, or replace a dead or old one
            if _start_agent():
                _put(request)
        else:
            _stop_an_old_version()
    except BaseException:  # noqa: S110 - nobody is there to be told
        pass
    finally:
        os._exit(0)


def _detach() -> None:
    """stdin on /dev/null too, and every other descriptor it inherited closed: nothing of
    the command's stays open here."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, _max_fd())


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


def _stop_an_old_version() -> None:
    """An agent of another version (ssoexec was upgraded) serves no run: ask it to stop, so
    that the next run at a terminal (or `ssoexec agent start`) puts a new one in its place."""
    path = trusted_socket()
    if path is None:
        return
    answer = client.exchange({"op": protocol.STATUS}, first_byte_timeout=_PUT_TIMEOUT, path=path)
    if answer is not None and answer.get("v") != protocol.PROTOCOL:
        client.exchange({"op": protocol.STOP}, first_byte_timeout=_PUT_TIMEOUT, path=path)


def _start_agent() -> bool:
    """Start one detached (control.start also replaces one of another version)."""
    from ssoexec.agent.control import start
    from ssoexec.errors import SsoexecError

    try:
        start()
    except (SsoexecError, OSError):
        return False
    return True
