"""An exclusive lock across processes on a file beside the token cache.

An advisory lock (flock on POSIX, msvcrt.locking on Windows) belongs to an open file, so the
kernel drops it when its holder dies, even by SIGKILL: a crashed ssoexec never blocks the next.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ssoexec.errors import SsoexecError

_POLL = 0.05


@contextmanager
def exclusive_lock(
    path: Path, *, timeout: float, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock on `path`; wait at most `timeout` seconds for another holder.

    `on_wait` is called once, when the lock turns out to be taken (to tell the user why we wait).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise SsoexecError(
                    f"another ssoexec has held the lock {path} for over {timeout:.0f} s",
                    "wait for the other login to finish; if none is running, run again",
                )
            if on_wait and not told:
                on_wait()
                told = True
            time.sleep(_POLL)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
