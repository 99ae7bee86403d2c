"""Profile -> valid SSO access token, from the AWS CLI's cache (~/.aws/sso/cache/<sha1>.json).

The file is the one `aws sso login` writes, so one login serves ssoexec, the AWS CLI and every
SDK. sso-session tokens are refreshed with their refresh token when under 15 minutes remain and
written back atomically, in the AWS CLI's format. Refresh and login hold one lock per session,
so parallel runs make one refresh call (or one login) and the rest reuse its result. The file
itself (its format, safe reads and writes) is token_cache.py's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ssoexec.errors import AwsCallError, ConfigError, LoginRequired
from ssoexec.lockfile import exclusive_lock, read_note, write_note
from ssoexec.profile import SsoSession
from ssoexec.terminal import say
from ssoexec.timestamps import format_timestamp, minutes_left, utcnow
from ssoexec.token_cache import (
    AccessToken,
    cache_path,
    cache_write_problem,
    read_token,
    why_not_written,
    write_token,
)

if TYPE_CHECKING:  # clients loads botocore: imported where a call is made
    from ssoexec.clients import Aws

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(minutes=15)  # botocore and the AWS CLI refresh inside this window
LOCK_TIMEOUT = 600.0  # a login by another process may take as long as a device code lives
Login = Callable[[SsoSession], AccessToken]  # signs in, writes and returns the token
T = TypeVar("T")


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
