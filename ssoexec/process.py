"""argv + env -> the running command.

POSIX: os.execvpe, so the command takes over ssoexec's pid; signals, job control and the exit
status need no relaying and no Python process stays resident. Windows has no exec: find the
program, spawn it, wait, and pass its exit status on.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from ssoexec.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, CommandError

_NO_SHELL = "ssoexec runs it without a shell: for aliases, builtins or pipes use `-- sh -c '...'`"


def exec_command(argv: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with the command (POSIX), or run it and exit with its status."""
    if os.name == "nt":  # pragma: no cover - Windows has no exec; covered through run_and_wait
        sys.exit(run_and_wait(argv, env))
    sys.stdout.flush()
    sys.stderr.flush()
    _restore_signal_defaults()
    # The command gets the user's core limit back (exec makes it dumpable again by itself).
    # coredump is loaded only once something forbade core dumps: the plain path skips ctypes.
    coredump = sys.modules.get("ssoexec.coredump")
    if coredump is not None:
        coredump.restore_core_limit()
    try:
        os.execvpe(argv[0], list(argv), dict(env))
    except OSError as error:
        raise _start_failure(argv[0], error) from None


def run_and_wait(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Windows: spawn the program, wait, return its exit status.

    Ctrl-C reaches the child from the console; ssoexec ignores it and keeps waiting, so the
    child decides how to end and its exit status is what the caller sees. Ignored from before
    the spawn: a Ctrl-C in between would end ssoexec and orphan the child.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return _spawn(argv, env).wait()
    finally:
        signal.signal(signal.SIGINT, previous)


# Signals a terminal sends to its whole foreground process group: the child gets them from
# the terminal itself, so ssoexec must not send them again (a second Ctrl-C makes Terraform
# abandon its graceful shutdown).
_FROM_THE_TERMINAL = ("SIGINT", "SIGQUIT")
# Signals sent to ssoexec alone (kill, CI cancel, `timeout`): passed on to the child, once.
_FORWARDED = ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2")


def supervise(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run the command as a child in the same (foreground) process group, stay alive until it
    ends, and return the status a shell would show: its exit code, or 128+N for signal N.

    Never subprocess.run: on Ctrl-C it kills the child after a quarter of a second.
    """
    from ssoexec.coredump import user_core_limit  # ctypes: not on the plain exec path

    handlers = {}
    child: subprocess.Popen | None = None

    def forward(signum: int, _frame: object) -> None:
        if child is not None and child.returncode is None:
            child.send_signal(signum)

    # Handlers, not SIG_IGN, so the child (which execs) starts with every default restored.
    for name in (*_FROM_THE_TERMINAL, *_FORWARDED):
        if hasattr(signal, name):
            signum = getattr(signal, name)
            action = forward if name in _FORWARDED else _ignore
            handlers[signum] = signal.signal(signum, action)
    try:
        with user_core_limit():  # the child gets the user's core limit, ssoexec keeps 0
            child = _spawn(argv, env)
        status = child.wait()
    finally:
        for signum, previous in handlers.items():
            signal.signal(signum, previous)
    return 128 - status if status < 0 else status


def _spawn(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen:
    """Start the command, found on the child's PATH (Popen would search ours), with PATHEXT
    on Windows as a shell would."""
    program = shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if program is None and os.sep in argv[0]:
        program = argv[0]  # a path that is not executable: let the OS say why
    if program is None:
        raise _start_failure(argv[0], FileNotFoundError(errno.ENOENT, "not found"))
    try:
        return subprocess.Popen([program, *argv[1:]], env=dict(env))
    except OSError as error:
        raise _start_failure(argv[0], error) from None


def _ignore(_signum: int, _frame: object) -> None:
    """The terminal delivered this to the child too; ssoexec waits for the child to end."""


def _restore_signal_defaults() -> None:
    """Python ignores SIGPIPE and SIGXFSZ; an exec'd command must not inherit that, or
    `ssoexec -- yes | head -1` would see EPIPE errors instead of ending quietly."""
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def _start_failure(command: str, error: OSError) -> CommandError:
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return CommandError(
            f"command not found: {command!r}",
            f"check the name and PATH; {_NO_SHELL}",
            exit_code=EXIT_NOT_FOUND,
        )
    reason = error.strerror or str(error)
    return CommandError(
        f"cannot run {command!r}: {reason}",
        "check that it is an executable file (chmod +x) with a valid #! line",
        exit_code=EXIT_NOT_EXECUTABLE,
    )
