"""Profile -> valid SSO access token, from the AWS CLI's cache (~/.aws/sso/cache/<sha1>.json).

The file is the one `aws sso login` writes, so one login serves ssoexec, the AWS CLI and every
SDK. sso-session tokens are refreshed with their refresh token when under 15 minutes remain and
written back atomically, in the AWS CLI's format. Refresh and login hold one lock per session,
so parallel runs make one refresh call (or one login) and the rest reuse its result.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ssoexec.errors import AwsCallError, ConfigError, LoginRequired
from ssoexec.files import NotARegularFile, make_private_dirs, read_regular_file
from ssoexec.lockfile import exclusive_lock, read_note, write_note
from ssoexec.profile import SsoSession
from ssoexec.regions import is_region_name
from ssoexec.terminal import say, shorten
from ssoexec.timestamps import format_timestamp, minutes_left, parse_timestamp, utcnow

if TYPE_CHECKING:  # clients loads botocore: imported where a call is made
    from ssoexec.clients import Aws

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(minutes=15)  # botocore and the AWS CLI refresh inside this window
LOCK_TIMEOUT = 600.0  # a login by another process may take as long as a device code lives
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


Login = Callable[[SsoSession], AccessToken]  # signs in, writes and returns the token
T = TypeVar("T")


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


@contextmanager
def session_lock(session: SsoSession) -> Iterator[int]:
    """One refresh, sign-in or sign-out at a time per SSO session, across processes. Yields
    the lock file, whose note says which refresh token AWS last refused (by its sha256)."""
    lock = token_file_lock(cache_path(session.cache_key), on_wait=lambda: _tell_waiting(session))
    with lock as fd:
        yield fd


def token_file_lock(path: Path, on_wait=None):
    """The lock beside a token file: <sha1>.lock next to <sha1>.json."""
    return exclusive_lock(path.with_suffix(".lock"), timeout=LOCK_TIMEOUT, on_wait=on_wait)


def load_valid_token(
    session: SsoSession,
    aws: Aws,
    *,
    profile_name: str | None = None,
    login: Login | None = None,
    refused: AccessToken | None = None,
) -> AccessToken:
    """A token good for GetRoleCredentials: cached, refreshed, or (with `login`) new.

    `refused` is a token the portal has just turned down (401): it is not used again.
    """
    path = cache_path(session.cache_key)
    token = read_token(path)
    log.debug("token cache %s: %s", path, token)
    if _usable(session, token, refused):
        return token
    if login is None and not _refreshable(session, token):
        # Nothing to do that needs the lock: use what there is, or say what to do.
        if _unexpired(token, refused):
            return token
        raise login_required(session, profile_name, _state(token, refused))
    with session_lock(session) as lock:
        token = read_token(path)  # another process may have refreshed or signed in meanwhile
        if _usable(session, token, refused):
            return token
        reason = _state(token, refused)
        if _refreshable(session, token) and read_note(lock) == _refused_note(token):
            reason = REJECTED  # a run before us was told so: asking again cannot help
        elif _refreshable(session, token):
            problem = cache_write_problem(path.parent)
            if problem is not None:  # refreshing would spend the refresh token for nothing
                return _unrenewable(session, token, refused, problem)
            refreshed, reason = _refresh(session, token, aws)
            if reason == REJECTED:
                write_note(lock, _refused_note(token))
            if refreshed is not None:
                _save_refreshed(path, session, refreshed, profile_name)
                return refreshed
        if _unexpired(token, refused):
            return token  # refresh failed or impossible, but the token still works for now
        if login is not None:
            return login(session)
        raise login_required(session, profile_name, reason)


REJECTED = "could not be refreshed: AWS rejected its refresh token"
REFUSED = "was refused by AWS SSO (signed out or revoked)"


class TokenRefused(Exception):
    """The portal answered 401 (UnauthorizedException) to an access token."""


def with_valid_token(
    session: SsoSession,
    aws: Aws,
    call: Callable[[AccessToken], T],
    *,
    profile_name: str | None = None,
    login: Login | None = None,
) -> T:
    """`call(token)` with a valid token (see load_valid_token). A token the portal refuses
    (`call` raises TokenRefused) gets one refresh or sign-in, then the call again; refused a
    second time, it is LoginRequired."""
    token = load_valid_token(session, aws, profile_name=profile_name, login=login)
    try:
        return call(token)
    except TokenRefused:
        token = load_valid_token(
            session, aws, profile_name=profile_name, login=login, refused=token
        )
    try:
        return call(token)
    except TokenRefused:
        raise login_required(session, profile_name, REFUSED) from None


def _refused_note(token: AccessToken) -> str:
    """What the lock file holds once AWS has refused this refresh token: its sha256, which
    tells the next waiter not to send it again and is of no use to anyone else."""
    digest = hashlib.sha256((token.refresh_token or "").encode("utf-8")).hexdigest()
    return f"refused-refresh-token-sha256 {digest}"


def _unrenewable(session: SsoSession, token: AccessToken, refused, problem: str) -> AccessToken:
    """The token cannot be renewed because a new one could not be saved: use it while it
    lasts (saying so), else fail, keeping the refresh token for when the cache is fixed."""
    if _unexpired(token, refused):
        left = minutes_left(token.expires_at)
        say(f"the SSO token for {session} cannot be renewed ({left} min left): {problem}")
        return token
    fix = problem.partition("(fix: ")[2].rstrip(")") or "make the token cache writable"
    raise ConfigError(
        f"the SSO token for {session} {_state(token, refused)} and cannot be renewed: {problem}",
        f"{fix}, then run again",
    )


def _save_refreshed(path: Path, session, token: AccessToken, profile_name: str | None) -> None:
    """Write the renewed token back; if that fails after all, it still serves this run."""
    try:
        write_token(path, token)
    except OSError as error:
        why = why_not_written(path.parent, error)
        say(
            f"warning: the renewed SSO token for {session} was not saved, {why}; this run "
            f"uses it, the next needs `{login_command(session, profile_name)}`"
        )


def _usable(session: SsoSession, token: AccessToken | None, refused: AccessToken | None) -> bool:
    if not _unexpired(token, refused):
        return False
    left = token.expires_at - utcnow()
    return left >= REFRESH_WINDOW if session.refreshable else True


def _unexpired(token: AccessToken | None, refused: AccessToken | None) -> bool:
    if token is None or token.expires_at <= utcnow():
        return False
    return refused is None or token.access_token != refused.access_token


def _refreshable(session: SsoSession, token: AccessToken | None) -> bool:
    return token is not None and session.refreshable and token.can_refresh(utcnow())


def _state(token: AccessToken | None, refused: AccessToken | None) -> str:
    if token is None:
        return "is missing"
    if refused is not None and token.access_token == refused.access_token:
        return REFUSED
    return f"expired at {format_timestamp(token.expires_at)}"


def _refresh(session: SsoSession, token: AccessToken, aws: Aws) -> tuple[AccessToken | None, str]:
    """CreateToken with the refresh token; (None, why) when that fails."""
    from ssoexec import clients  # botocore: only when a call is made

    client = aws.oidc(session.region)
    log.debug("refreshing the token of %s (CreateToken)", session)
    try:
        with clients.translate_errors("refreshing the SSO token"):
            try:
                response = client.create_token(
                    grantType="refresh_token",
                    clientId=token.client_id,
                    clientSecret=token.client_secret,
                    refreshToken=token.refresh_token,
                )
            except (
                client.exceptions.InvalidGrantException,
                client.exceptions.InvalidClientException,
                client.exceptions.ExpiredTokenException,
            ):
                return None, REJECTED
    except AwsCallError as error:
        if token.expires_at <= utcnow():
            raise
        log.debug("refresh failed, the token is still valid: %s", error.message)
        return None, error.message
    log.debug("refreshed: expires in %s s", response["expiresIn"])
    refreshed = replace(
        token,
        start_url=session.start_url,
        region=session.region,
        access_token=response["accessToken"],
        expires_at=utcnow() + timedelta(seconds=int(response["expiresIn"])),
        refresh_token=response.get("refreshToken"),
    )
    return refreshed, ""


def _tell_waiting(session: SsoSession) -> None:
    say(f"waiting for another ssoexec to refresh or sign in to {session}...")


def login_command(session: SsoSession, profile_name: str | None) -> str:
    if profile_name:
        return f"ssoexec login -p {profile_name}"
    return f"ssoexec login --sso-session {session.name}"


def login_required(session: SsoSession, profile_name: str | None, reason: str) -> LoginRequired:
    return LoginRequired(
        f"the SSO token for {session} {reason}",
        f"run `{login_command(session, profile_name)}`, then run again",
    )
