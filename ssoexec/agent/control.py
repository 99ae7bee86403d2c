"""Starting and stopping the agent (`ssoexec agent start|stop|status`, and auto-start).

Start: make and check the directory; if an agent of this version answers, that is the one.
Else, holding a lock on the directory itself (flock: no lock file), ask an agent of another
version to stop, remove a stale socket (nobody listening), and spawn `python -m ssoexec.agent
SOCKET` detached (a session of its own, stdio /dev/null, cwd /), then wait until it says it
listens, on a pipe it writes once. Stop: `stop` (whatever the agent's version) and wait until
its socket is gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ssoexec.agent import client, protocol
from ssoexec.agent.paths import make_dir, socket_path
from ssoexec.errors import SsoexecError

START_TIMEOUT = 10.0  # seconds for a new agent to listen
STOP_TIMEOUT = 5.0
LOCK_TIMEOUT = 15.0
_POLL = 0.01  # seconds between looks at something no event announces (another's lock, exit)
_ANSWER = 2.0  # seconds for an agent to answer a control request


def start() -> tuple[int, Path, bool]:
    """(pid, socket path, whether it started now) of the running agent, started if need be."""
    if sys.platform == "win32":
        raise SsoexecError(
            "the agent does not run on Windows",
            "ssoexec works without it there: every run fetches its own credentials",
        )
    path = socket_path()
    folder = make_dir(path.parent)
    if (pid := running_pid(path)) is not None:
        return pid, path, False
    with _locked(folder):
        if (pid := running_pid(path)) is not None:
            return pid, path, False  # another start won the race
        _clear(path)
        return _spawn(path), path, True


def stop(path: Path | None = None) -> bool:
    """Stop the agent (of any version) and wait until its socket is gone; False if none ran."""
    path = socket_path() if path is None else path
    answer = client.exchange({"op": protocol.STOP}, first_byte_timeout=_ANSWER, path=path)
    if answer is None:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT
    while os.path.lexists(path) and time.monotonic() < deadline:
        time.sleep(_POLL)
    return True


def status(path: Path | None = None) -> dict | None:
    """The running agent's status answer, or None when none of this version answers."""
    answer = client.ask({"op": protocol.STATUS}, first_byte_timeout=_ANSWER, path=path)
    return answer if answer and answer.get("ok") else None


def running_pid(path: Path | None = None) -> int | None:
    answer = status(path)
    pid = answer.get("pid") if answer else None
    return pid if isinstance(pid, int) else None


def _clear(path: Path) -> None:
    """Make room for a new agent: an old version's is asked to stop; what is left is removed
    (a dead agent's socket, or a wedged one's: it exits when it sees its socket gone)."""
    if not os.path.lexists(path):
        return
    other = client.exchange({"op": protocol.STATUS}, first_byte_timeout=0.2, path=path)
    if other is not None:
        stop(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _spawn(path: Path) -> int:
    ready_read, ready_write = os.pipe()
    try:
        agent = subprocess.Popen(
            [sys.executable, "-B", "-m", "ssoexec.agent", str(path), str(ready_write)],
            env=protocol.resolution_env(os.environ) | _runtime_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(ready_write,),
            cwd="/",
        )
    finally:
        os.close(ready_write)
    try:
        readable, _, _ = select.select([ready_read], [], [], START_TIMEOUT)
        ready = bool(readable) and os.read(ready_read, 1) == b"1"
    finally:
        os.close(ready_read)
    if not ready:
        raise SsoexecError(
            f"the agent did not start (its socket would be {path})",
            "run `ssoexec agent status`, or go without it: SSOEXEC_AGENT=off",
        )
    return agent.pid


def _runtime_env() -> dict[str, str]:
    """What the agent process itself reads, beyond what requests bring."""
    return {name: os.environ[name] for name in ("LANG", "TMPDIR") if name in os.environ}


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive flock on the directory itself, so that one start at a time replaces."""
    import fcntl  # POSIX only: this module is imported on Windows too, to say there is no agent

    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SsoexecError(
                        f"another ssoexec has been starting the agent in {folder} for too long",
                        "run `ssoexec agent stop`, then try again",
                    ) from None
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)
