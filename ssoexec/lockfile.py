"""An exclusive lock across processes on a file beside the token cache.

An advisory lock (flock on POSIX, msvcrt.locking on Windows) belongs to an open file, so the
kernel drops it when its holder dies, even by SIGKILL: a crashed ssoexec never blocks the next.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ssoexec.errors import SsoexecError
from ssoexec.files import make_private_dirs

_POLL = 0.05


@contextmanager
def exclusive_lock(
    path: Path, *, timeout: float, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock on `path`; wait at most `timeout` seconds for another holder.

    `on_wait` is called once, when the lock turns out to be taken (to tell the user why we wait).
    Yields the lock file's descriptor, on which the holder may keep a short note (read_note,
    write_note). A lock that is a symlink, not a regular file or another user's is refused.
    """
    fd = _open_lock(path)
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
            yield fd
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _open_lock(path: Path) -> int:
    """The lock file, opened without following a planted symlink and checked to be ours."""
    try:
        make_private_dirs(path.parent)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), 0o600)
    except OSError as error:
        raise _refused(path, error) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        problem = f"belongs to another user (uid {info.st_uid})"
    if problem:
        os.close(fd)
        raise SsoexecError(
            f"the lock file {path} {problem}",
            f"remove it (`rm -r {path}`), then run again; ssoexec creates its own",
        )
    return fd


def _refused(path: Path, error: OSError) -> SsoexecError:
    remove = f"remove it (`rm -r {path}`), then run again; ssoexec creates its own"
    if error.errno == errno.ELOOP:
        return SsoexecError(
            f"the lock file {path} is a symbolic link, which ssoexec never follows", remove
        )
    if error.errno == errno.EISDIR:
        return SsoexecError(f"the lock file {path} is a directory", remove)
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return SsoexecError(
            f"cannot make the lock file {path}: a folder above it is a file, not a directory",
            f"move that file away (`ls -ld {path.parent}`), then run again",
        )
    return SsoexecError(
        f"cannot open the lock file {path}: {error.strerror}",
        f"check the owner and permissions of {path.parent} (`ls -ld {path.parent}`)",
    )


def read_note(fd: int) -> str:
    """The note kept in the lock file (empty if none)."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 256).decode("ascii", "replace").strip()


def write_note(fd: int, text: str) -> None:
    """Replace the lock file's note; a disk that refuses it only costs the note."""
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, text.encode("ascii"))
    except OSError:
        pass


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
