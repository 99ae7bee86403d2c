"""Profile -> valid SSO access token, from the AWS CLI's cache (~/.aws/sso/cache/<sha1>.json).

The file is the one `aws sso login` writes, so one login serves ssoexec, the AWS CLI and every
SDK. sso-session tokens are refreshed with their refresh token when under 15 minutes remain and
written back atomically, in the AWS CLI's format. Refresh and login hold one lock per session,
so parallel runs make one refresh call (or one login) and the rest reuse its result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from ssoexec.errors import ConfigError, LoginRequired
from ssoexec.lockfile import exclusive_lock
from ssoexec.timestamps import format_timestamp, parse_timestamp, utcnow

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(minutes=15)  # botocore and the AWS CLI refresh inside this window
LOCK_TIMEOUT = 600.0  # a login by another process may take as long as a device code lives


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
        """Raises ValueError naming what is missing or malformed."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        for key in ("accessToken", "expiresAt"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"it has no {key}")
        registration = data.get("registrationExpiresAt")
        return cls(
            start_url=data.get("startUrl", ""),
            region=data.get("region", ""),
            access_token=data["accessToken"],
            expires_at=parse_timestamp(data["expiresAt"]),
            client_id=data.get("clientId"),
            client_secret=data.get("clientSecret"),
            registration_expires_at=parse_timestamp(registration) if registration else None,
            refresh_token=data.get("refreshToken"),
        )


Login = Callable[[object], AccessToken]


def cache_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".aws" / "sso" / "cache"


def cache_path(cache_key: str) -> Path:
    """sha1 of the sso-session name (or of the start URL, for a legacy profile), as the CLI."""
    return cache_dir() / (hashlib.sha1(cache_key.encode("utf-8")).hexdigest() + ".json")  # noqa: S324


def read_token(path: Path) -> AccessToken | None:
    """The cached token, or None when there is none. A token being rewritten in place by the
    AWS CLI can be read half-written, so a file that does not parse is read once more."""
    for attempt in (1, 2):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"cannot read the SSO token cache {path}: {getattr(error, 'strerror', error)}",
                f"check the file's owner and permissions (`chmod 600 {path}`)",
            ) from None
        try:
            return AccessToken.from_cache(json.loads(text))
        except ValueError as error:
            if attempt == 1:
                time.sleep(0.1)
                continue
            reason = "it is not valid JSON" if isinstance(error, json.JSONDecodeError) else error
            raise ConfigError(
                f"the SSO token cache {path} is unusable: {reason}",
                f"sign in again to rewrite it, or delete it: {path}",
            ) from None
    return None  # unreachable


def write_token(path: Path, token: AccessToken) -> None:
    """Atomically (temp file + rename), mode 0600, in the AWS CLI's format."""
    write_private_json(path, token.to_cache())


def write_private_json(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path` atomically (temp file + rename) with mode 0600, so that
    a reader sees the old file or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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


@contextmanager
def session_lock(session) -> Iterator[None]:
    """One refresh, sign-in or sign-out at a time per SSO session, across processes."""
    with token_file_lock(cache_path(session.cache_key), on_wait=lambda: _tell_waiting(session)):
        yield


def token_file_lock(path: Path, on_wait=None):
    """The lock beside a token file: <sha1>.lock next to <sha1>.json."""
    return exclusive_lock(path.with_suffix(".lock"), timeout=LOCK_TIMEOUT, on_wait=on_wait)


def load_valid_token(
    session,
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
    with session_lock(session):
        token = read_token(path)  # another process may have refreshed or signed in meanwhile
        if _usable(session, token, refused):
            return token
        reason = _state(token, refused)
        if _refreshable(session, token):
            refreshed, reason = _refresh(session, token)
            if refreshed is not None:
                write_token(path, refreshed)
                return refreshed
        if _unexpired(token, refused):
            return token  # refresh failed or impossible, but the token still works for now
        if login is not None:
            return login(session)
        raise login_required(session, profile_name, reason)


def _usable(session, token: AccessToken | None, refused: AccessToken | None) -> bool:
    if not _unexpired(token, refused):
        return False
    left = token.expires_at - utcnow()
    return left >= REFRESH_WINDOW if session.refreshable else True


def _unexpired(token: AccessToken | None, refused: AccessToken | None) -> bool:
    if token is None or token.expires_at <= utcnow():
        return False
    return refused is None or token.access_token != refused.access_token


def _refreshable(session, token: AccessToken | None) -> bool:
    return token is not None and session.refreshable and token.can_refresh(utcnow())


def _state(token: AccessToken | None, refused: AccessToken | None) -> str:
    if token is None:
        return "is missing"
    if refused is not None and token.access_token == refused.access_token:
        return "was refused by AWS SSO (signed out or revoked)"
    return f"expired at {format_timestamp(token.expires_at)}"


def _refresh(session, token: AccessToken) -> tuple[AccessToken | None, str]:
    """CreateToken with the refresh token; (None, why) when that fails."""
    from ssoexec import clients
    from ssoexec.errors import AwsCallError

    client = clients.oidc(session.region)
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
                return None, "could not be refreshed: AWS rejected its refresh token"
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


def _tell_waiting(session) -> None:
    print(
        f"ssoexec: waiting for another ssoexec to refresh or sign in to {session}...",
        file=sys.stderr,
        flush=True,
    )


def login_command(session, profile_name: str | None) -> str:
    if profile_name:
        return f"ssoexec login -p {profile_name}"
    return f"ssoexec login --sso-session {session.name}"


def login_required(session, profile_name: str | None, reason: str) -> LoginRequired:
    return LoginRequired(
        f"the SSO token for {session} {reason}",
        f"run `{login_command(session, profile_name)}`, then run again",
    )
