"""Where the agent's socket lives, and the checks on its directory.

`$XDG_RUNTIME_DIR/ssoexec/` (a per-user, memory-backed directory on systemd machines), else
`ssoexec-<uid>` under the temp dir. The directory is 0700 and must be the user's own, not a
symlink and not open to the group or others: otherwise another local user could plant a socket
of their own there and be handed the requests (with their environments) or answer with
credentials of their choosing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ssoexec.errors import SsoexecError

SOCKET_NAME = "agent.sock"


class AgentDirError(SsoexecError):
    """The agent's directory is not safe to use (or cannot be made)."""


def agent_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "ssoexec"
    return Path(temp_dir(environ)) / f"ssoexec-{os.getuid()}"


def temp_dir(environ: Mapping[str, str]) -> str:
    """TMPDIR when it is an absolute path, else tempfile's choice (imported only then: the
    warm path starts with this, and tempfile brings random and shutil)."""
    tmpdir = environ.get("TMPDIR", "")
    if tmpdir and os.path.isabs(tmpdir):
        return tmpdir
    import tempfile

    return tempfile.gettempdir()


def socket_path(environ: Mapping[str, str] | None = None) -> Path:
    return agent_dir(environ) / SOCKET_NAME


def check_dir(path: Path) -> None:
    """Raise AgentDirError unless `path` is a real directory of this user's, mode 0700 or
    narrower (no access at all for the group and others)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise _unsafe(path, "does not exist") from None
    except OSError as error:
        raise _unsafe(path, f"cannot be read ({error.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise _unsafe(path, "is a symlink")
    if not stat.S_ISDIR(info.st_mode):
        raise _unsafe(path, "is not a directory")
    if info.st_uid != os.geteuid():
        raise _unsafe(path, f"belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise _unsafe(path, f"is open to other users (mode {stat.S_IMODE(info.st_mode):o})")


def make_dir(path: Path | None = None) -> Path:
    """The agent's directory, made 0700 if missing, and checked (an existing one is never
    loosened or tightened: a wrong one is refused)."""
    path = agent_dir() if path is None else path
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as error:
        raise AgentDirError(
            f"cannot make the agent's directory {path}: {error.strerror}",
            "set XDG_RUNTIME_DIR or TMPDIR to a directory of yours, or run with SSOEXEC_AGENT=off",
        ) from None
    else:
        os.chmod(path, 0o700)  # mkdir's mode is masked by the umask
    check_dir(path)
    return path


def _unsafe(path: Path, why: str) -> AgentDirError:
    return AgentDirError(
        f"the agent's directory {path} {why}",
        f"remove {path} (the agent makes it anew, mode 0700), or set XDG_RUNTIME_DIR to a "
        "private directory of yours",
    )
