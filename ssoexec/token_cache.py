"""The AWS CLI's SSO token cache on disk (~/.aws/sso/cache): the token file's format, and
reading and writing it safely. A file is read only if it is a regular file of a sane size, is
parsed with every field type-checked, and a half-written one (the AWS CLI writes in place) is
read again; it is written atomically, mode 0600, in a private directory, after finding out
whether it can be written at all."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ssoexec.errors import ConfigError
from ssoexec.files import NotARegularFile, make_private_dirs, read_regular_file
from ssoexec.regions import is_region_name
from ssoexec.terminal import shorten
from ssoexec.timestamps import format_timestamp, parse_timestamp

CACHE_FILE_LIMIT = 64 * 1024  # bytes; a real token or registration file is under 10 KiB
PROBE_SIZE = 4096  # bytes written to find out whether a token can be saved (a token's size)
_STRING_KEYS = (
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
)


@dataclass(frozen=True)
class AccessToken:
    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)

    def can_refresh(self, now: datetime) -> bool:
        return bool(
            self.refresh_token
            and self.client_id
            and self.client_secret
            and self.registration_expires_at
            and self.registration_expires_at > now
        )

    def to_cache(self) -> dict:
        """The AWS CLI's token file, key for key and in its order."""
        data = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": format_timestamp(self.expires_at),
        }
        if self.client_id:
            data["clientId"] = self.client_id
            data["clientSecret"] = self.client_secret
            if self.registration_expires_at:
                data["registrationExpiresAt"] = format_timestamp(self.registration_expires_at)
        if self.refresh_token:
            data["refreshToken"] = self.refresh_token
        return data

    @classmethod
    def from_cache(cls, data: dict) -> AccessToken:
        """Raises ValueError naming what is missing or malformed (never quoting a secret).
        Every field is checked here, so that nothing malformed reaches botocore."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        for key in _STRING_KEYS:
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ValueError(f"its {key} is not a string")
        for key in ("accessToken", "expiresAt"):
            if not data.get(key):
                raise ValueError(f"it has no {key}")
        region = data.get("region") or ""
        if region and not is_region_name(region):
            raise ValueError(f"its region '{shorten(region, 40)}' is not a region name")
        registration = data.get("registrationExpiresAt")
        return cls(
            start_url=data.get("startUrl") or "",
            region=region,
            access_token=data["accessToken"],
            expires_at=parse_timestamp(data["expiresAt"]),
            client_id=data.get("clientId"),
            client_secret=data.get("clientSecret"),
            registration_expires_at=parse_timestamp(registration) if registration else None,
            refresh_token=data.get("refreshToken"),
        )


def cache_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".aws" / "sso" / "cache"


def cache_path(cache_key: str) -> Path:
    """sha1 of the sso-session name (or of the start URL, for a legacy profile), as the CLI."""
    return cache_dir() / (hashlib.sha1(cache_key.encode("utf-8")).hexdigest() + ".json")  # noqa: S324


def _pause() -> None:
    time.sleep(0.1)


def read_token(path: Path, *, before_retry: Callable[[], None] = _pause) -> AccessToken | None:
    """The cached token, or None when there is none. A token being rewritten in place by the
    AWS CLI can be read half-written, so a file that is not JSON is read once more, after
    `before_retry` (a short pause). Only a regular file of sane size is read: never hangs."""
    for attempt in (1, 2):
        try:
            data = read_cache_json(path)
        except FileNotFoundError:
            return None
        except ValueError:
            if attempt == 1:
                before_retry()
                continue
            raise _unusable(path, "it is not valid JSON") from None
        try:
            return AccessToken.from_cache(data)
        except ValueError as error:
            raise _unusable(path, str(error)) from None
    return None  # unreachable


def _unusable(path: Path, reason: str) -> ConfigError:
    return ConfigError(
        f"the SSO token cache {path} is unusable: {reason}",
        f"sign in again to rewrite it, or delete it: {path}",
    )


def read_cache_json(path: Path, what: str = "the SSO token cache") -> object:
    """The JSON in a token or registration file. Raises FileNotFoundError when there is none,
    ValueError when it is not JSON, and ConfigError when it cannot be read, is not a regular
    file of at most CACHE_FILE_LIMIT bytes, or nests too deeply to parse."""
    try:
        raw = read_regular_file(path, limit=CACHE_FILE_LIMIT)
    except FileNotFoundError:
        raise
    except NotARegularFile:
        raise ConfigError(
            f"cannot read {what} {path}: it is {_kind(path)}, not a token file",
            f"delete it (`rm -r {path}`), then sign in again",
        ) from None
    except NotADirectoryError:
        raise ConfigError(
            f"cannot read {what} {path}: a folder above it is a file, not a directory",
            f"move that file away (`ls -ld {path.parent}`), then sign in again",
        ) from None
    except PermissionError as error:
        raise ConfigError(
            f"cannot read {what} {path}: {error.strerror}",
            f"make the cache yours again (`sudo chown -R $USER {path.parent}`; a `sudo` "
            "sign-in leaves it root's), then run again",
        ) from None
    except OSError as error:
        raise ConfigError(
            f"cannot read {what} {path}: {error.strerror}",
            f"check the file's owner and permissions (`ls -l {path}`)",
        ) from None
    try:
        return json.loads(raw)
    except RecursionError:
        raise ConfigError(
            f"{what} {path} is unusable: its JSON is nested too deeply",
            f"delete it (`rm {path}`), then sign in again",
        ) from None


def _kind(path: Path) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "not a regular file"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a link to a device" if path.is_symlink() else "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return f"larger than {CACHE_FILE_LIMIT // 1024} KiB"


def write_token(path: Path, token: AccessToken) -> None:
    """Atomically (temp file + rename), mode 0600, in the AWS CLI's format."""
    write_private_json(path, token.to_cache())


def write_private_json(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path` atomically (temp file + rename) with mode 0600, so that
    a reader sees the old file or the new one, never half of either."""
    make_private_dirs(path.parent)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".ssoexec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def cache_write_problem(folder: Path) -> str | None:
    """Why a token cannot be saved in `folder`, or None if it can: found out honestly, by
    saving (write + fsync) a file of a token's size there and removing it."""
    try:
        make_private_dirs(folder)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".ssoexec-probe-", suffix=".tmp")
    except OSError as error:
        return why_not_written(folder, error)
    try:
        data = b"\n" * PROBE_SIZE
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    except OSError as error:
        return why_not_written(folder, error)
    finally:
        os.close(fd)
        Path(temp).unlink(missing_ok=True)
    return None


def why_not_written(folder: Path, error: OSError) -> str:
    """`error`, met while writing in `folder`, said with its fix."""
    reasons = {
        errno.EFBIG: "the file size limit is too small (fix: `ulimit -f unlimited`)",
        errno.ENOSPC: "the disk is full (fix: free some space)",
        errno.EDQUOT: "the disk quota is used up (fix: free some space)",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: f"it is not writable by you (fix: `sudo chown -R $USER {folder}`)",
        errno.EPERM: f"it is not writable by you (fix: `sudo chown -R $USER {folder}`)",
        errno.ENOTDIR: f"a file is in the way of the directory (fix: move it, `ls -ld {folder}`)",
        errno.EEXIST: f"a file is in the way of the directory (fix: move it, `ls -ld {folder}`)",
    }
    return f"cannot write to {folder}: " + reasons.get(error.errno, str(error.strerror))
