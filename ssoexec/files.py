"""Reading and making the files ssoexec keeps, whatever a clumsy user or a local attacker left.

Files are read only when they are regular files of a sane size (a FIFO would hang the read, a
link to /dev/zero would fill memory); directories ssoexec creates are 0700 whatever the umask.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotARegularFile(OSError):
    """The path exists but is a FIFO, device, directory or the like, or is too large."""


def read_regular_file(path: Path, *, limit: int) -> bytes:
    """The bytes of `path`, if it is a regular file (links followed) of at most `limit` bytes.

    Raises FileNotFoundError when there is none, NotARegularFile when it is of the wrong kind or
    too large, and OSError as open/read do. Opening never blocks (O_NONBLOCK: a FIFO with no
    writer would), and no more than `limit` + 1 bytes are ever read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"{path} is not a regular file")
        if info.st_size > limit:
            raise NotARegularFile(f"{path} is {info.st_size} bytes, more than {limit}")
        chunks, size = [], 0
        while chunk := os.read(fd, limit + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise NotARegularFile(f"{path} is larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def make_private_dirs(path: Path) -> None:
    """Create `path` and any missing parents with mode 0700, whatever the umask (mkdir's mode
    is masked by it, and pathlib gives the parents the default mode)."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made meanwhile by a parallel run
        os.chmod(folder, 0o700)
