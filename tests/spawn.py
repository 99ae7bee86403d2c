"""Start the installed ssoexec without paying for its interpreter start every time.

A test process starts ssoexec hundreds of times, and each start spends about 0.3 s of CPU
importing botocore (and typer, for a subcommand) before ssoexec does anything; on this 2-core
machine that was most of the suite's time. So the test process imports those libraries once,
and `popen` starts ssoexec as a fork of it: a real child process (its own pid, the pipes,
session, working directory, umask and limits that subprocess gives it, a real exec of the
command, a real exit status and real signals), which runs the same `ssoexec.entry.main` the
installed script runs, after putting back what a new interpreter would have:

- the environment, argv, sys.path and standard streams the script would get;
- signal dispositions (those the test process ignores stay ignored, as across an exec),
  warnings filters, logging without handlers, the exception hooks, no faulthandler, no
  atexit callbacks of the test process, and tempfile's cached directory;
- no ssoexec module at all: every one is imported afresh, in the order the run imports it,
  so ssoexec's own state and lazy imports are exactly a new process's;
- at the end, Python's own exit: threads joined, atexit run, stdout flushed (a broken pipe
  gives 120, as Python does), an uncaught exception printed and 1, an uncaught Ctrl-C ends
  the process with SIGINT.

What a fork cannot reproduce goes to the real script instead: a run with any PYTHON*
variable (those act at interpreter start, as the import-order tests need), another locale,
or SSOEXEC_TEST_SCRIPT=1 in the test process's environment, which runs every test through
the installed script (CI does both).
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import gc
import io
import locale
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path

# What the ssoexec script would load anyway: loaded once here, shared by every fork.
import botocore.client
import botocore.session  # noqa: F401
import typer  # noqa: F401

BIN = Path(sys.executable).parent
SSOEXEC = str(BIN / "ssoexec")
ALWAYS_SCRIPT = os.environ.get("SSOEXEC_TEST_SCRIPT") == "1"
_LOCALE_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")
_FORKED_LOCALE = {"LANG": "C.UTF-8"}  # the sandbox's; the streams below are built for it

# sys.path as the script has it: its own directory, then what the interpreter and site add.
_SCRIPT_PATH = [
    str(BIN),
    *subprocess.run(
        [sys.executable, "-c", "import sys; print(*sys.path[1:], sep=chr(10))"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    ).stdout.splitlines(),
]
_PYTHON_WARNINGS = [
    ("default", None, DeprecationWarning, "__main__", 0),
    ("ignore", None, DeprecationWarning, None, 0),
    ("ignore", None, PendingDeprecationWarning, None, 0),
    ("ignore", None, ImportWarning, None, 0),
    ("ignore", None, ResourceWarning, None, 0),
]
_UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}


def forkable(argv, env) -> bool:
    """Whether this start of ssoexec can be a fork (see the module's docstring)."""
    if not argv or argv[0] != SSOEXEC:
        return False
    if any(name.startswith("PYTHON") for name in env):
        return False
    return {k: env.get(k) for k in _LOCALE_VARIABLES} == {
        k: _FORKED_LOCALE.get(k) for k in _LOCALE_VARIABLES
    }


def popen(argv, env, *, fork: bool | None = None, **kwargs) -> subprocess.Popen:
    """subprocess.Popen(argv, env=env, **kwargs), as a fork when it can be (see above);
    `fork` True or False decides it whatever SSOEXEC_TEST_SCRIPT says."""
    if fork is None:
        fork = not ALWAYS_SCRIPT and forkable(argv, env)
    if not fork:
        return subprocess.Popen(argv, env=env, **kwargs)
    keep = tuple(kwargs.get("pass_fds", ()))
    # A test's own preexec_fn (a file size limit, a umask) comes first, as for the script.
    before = kwargs.pop("preexec_fn", None)

    def child() -> None:
        if before is not None:
            before()
        become_ssoexec(list(argv), dict(env), keep)

    return subprocess.Popen(argv, env=env, preexec_fn=child, **kwargs)


def run(argv, env, *, timeout=None, input=None, check=False, capture_output=False, **kwargs):
    """subprocess.run through `popen`."""
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    if input is not None:
        assert kwargs.get("stdin") is None, "stdin and input both given"
        kwargs["stdin"] = subprocess.PIPE
    with popen(argv, env, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        except BaseException:
            process.kill()
            raise
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


def become_ssoexec(argv: list[str], env: dict[str, str], keep: tuple[int, ...] = ()) -> None:
    """In a forked child (before subprocess's exec, or pty.fork's): run ssoexec here with
    the standard streams the child has, and never return."""
    try:
        gc.freeze()  # the test process's objects: never collected (nor their files closed) here
        for fd in range(3, _max_fd()):  # what close_fds would close (and subprocess's own pipe)
            if fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        _reset_interpreter(argv, env)
        status = _main()
    except BaseException:
        try:
            os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(1)
    os._exit(status)


def _max_fd() -> int:
    try:
        return max(int(name) for name in os.listdir("/proc/self/fd")) + 1
    except (OSError, ValueError):
        return os.sysconf("SC_OPEN_MAX")


def _reset_interpreter(argv: list[str], env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    locale.setlocale(locale.LC_CTYPE, "")
    sys.dont_write_bytecode = False  # as for the script: no PYTHON* variable reaches a fork
    sys.argv = list(argv)
    sys.orig_argv = [sys.executable, *argv]
    sys.path[:] = _SCRIPT_PATH
    for name in [m for m in sys.modules if m == "ssoexec" or m.startswith("ssoexec.")]:
        del sys.modules[name]
    tempfile.tempdir = None
    faulthandler.disable()
    atexit._clear()
    threading._threading_atexits.clear()  # e.g. a thread pool's, whose thread forked this
    pool = sys.modules.get("concurrent.futures.thread")
    if pool is not None:
        pool._threads_queues.clear()
    sys.excepthook = sys.__excepthook__
    sys.unraisablehook = sys.__unraisablehook__
    threading.excepthook = threading.__excepthook__
    warnings.filters[:] = _PYTHON_WARNINGS
    warnings._filters_mutated()
    warnings.showwarning = warnings._showwarning_orig
    warnings._showwarnmsg = warnings._showwarnmsg_impl
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    for number in signal.valid_signals():
        if number in _UNCATCHABLE:
            continue
        try:
            if signal.getsignal(number) is not signal.SIG_IGN:
                signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if signal.getsignal(signal.SIGINT) is signal.SIG_DFL:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.stdin = _stream(0, "r", "strict", line_buffering=False)
    sys.stdout = _stream(1, "w", "strict", line_buffering=os.isatty(1))
    sys.stderr = _stream(2, "w", "backslashreplace", line_buffering=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _stream(fd: int, mode: str, errors: str, *, line_buffering: bool):
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered, encoding="utf-8", errors=errors, line_buffering=line_buffering
    )


def _main() -> int:
    """The script's `sys.exit(main())`, then the interpreter's exit, as Python does them."""
    status = 0
    try:
        from ssoexec.entry import main

        sys.exit(main())
    except SystemExit as done:
        code = done.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code & 0xFF
        else:
            print(code, file=sys.stderr)
            status = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    threading._shutdown()
    atexit._run_exitfuncs()
    if not _flush():
        status = 120
    return status


def _flush() -> bool:
    """Flush stdout and stderr as Python does at exit; False when stdout could not be."""
    stdout_flushed = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            stdout_flushed = stdout_flushed and stream is not sys.stdout
    return stdout_flushed
