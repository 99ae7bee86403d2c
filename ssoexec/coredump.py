"""Keep a process that holds secrets out of core dumps, without changing its command's limits.

A crash of a long-lived ssoexec (the --server supervisor, a sign-in waiting for the browser)
would otherwise write its memory, with every credential and token in it, to a core file (with
systemd-coredump, a file on disk). `forbid_core_dumps` sets the soft core size limit to 0 and,
on Linux, marks the process non-dumpable (prctl PR_SET_DUMPABLE 0), which also keeps other
processes of the same user from reading its memory through /proc or ptrace. Other POSIX
systems get the core limit only; Windows neither (see the README).

The command ssoexec runs must keep the user's own core limit: exec resets the non-dumpable
mark by itself, and `restore_core_limit` (just before exec, or around spawning a child) puts
the soft limit back. The hard limit is never touched, so nothing here needs privileges.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_PR_GET_DUMPABLE = 3
_PR_SET_DUMPABLE = 4
_saved_soft_limit: list[int] = []  # the soft core limit before forbid_core_dumps, once set


def forbid_core_dumps() -> bool:
    """Soft core limit 0 and (Linux) non-dumpable; True when the process is non-dumpable."""
    if resource is not None:
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
            if not _saved_soft_limit:
                _saved_soft_limit.append(soft)
        except (ValueError, OSError) as error:
            log.debug("cannot set the core size limit to 0: %s", error)
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.debug("prctl(PR_SET_DUMPABLE, 0) failed: errno %s", ctypes.get_errno())
        return libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError) as error:
        log.debug("cannot mark the process non-dumpable: %s", error)
        return False


def restore_core_limit() -> None:
    """Put back the soft core limit the user had (before exec'ing the command)."""
    if resource is None or not _saved_soft_limit:
        return
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (_saved_soft_limit[0], hard))
    except (ValueError, OSError) as error:
        log.debug("cannot restore the core size limit: %s", error)


@contextmanager
def user_core_limit() -> Iterator[None]:
    """The user's core limit while a child is spawned (it inherits it), 0 again after.
    The process stays non-dumpable meanwhile, so the moment between is no exposure."""
    restore_core_limit()
    try:
        yield
    finally:
        if _saved_soft_limit and resource is not None:
            try:
                _, hard = resource.getrlimit(resource.RLIMIT_CORE)
                resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
            except (ValueError, OSError) as error:
                log.debug("cannot set the core size limit to 0: %s", error)
