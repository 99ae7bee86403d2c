"""Signing out, as `aws sso logout`: end the token at the portal, then delete its file (the
client registration stays)."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import suppress
from pathlib import Path

from ssoexec import clients
from ssoexec.agent import client as agent_client
from ssoexec.agent import protocol
from ssoexec.agent.paths import socket_path
from ssoexec.errors import ConfigError, SsoexecError
from ssoexec.profile import SsoSession
from ssoexec.sso_token import token_file_lock
from ssoexec.terminal import say
from ssoexec.token_cache import AccessToken, cache_dir, cache_path, read_cache_json

log = logging.getLogger(__name__)


def sign_out(session: SsoSession, aws: clients.Aws) -> bool:
    """Log the session's token out of the portal, then delete the token file (the client
    registration stays, as with `aws sso logout`). False when there was no token."""
    wipe_agent()
    return _sign_out_file(cache_path(session.cache_key), aws)


def sign_out_all(aws: clients.Aws) -> tuple[int, int]:
    """Every token in the cache, as `aws sso logout` does: (signed out, failed). A token that
    cannot be signed out of is reported and kept, and the others are still signed out."""
    wipe_agent()
    done = failed = 0
    for path in sorted(cache_dir().glob("*.json")):
        try:
            done += _sign_out_file(path, aws)
        except SsoexecError as error:
            failed += 1
            say(f"error: could not sign out: {error.message}")
            print(f"hint: {error.hint}", file=sys.stderr, flush=True)
    return done, failed


def wipe_agent() -> None:
    """Make a running agent forget every credential it holds (any logout: what it holds came
    from sessions the user is leaving). One of another version cannot be told to wipe, so it
    is stopped, which wipes too. Nothing to say when none runs."""
    if not os.path.exists(socket_path()):
        return
    wiped = agent_client.ask({"op": protocol.WIPE}, first_byte_timeout=_AGENT_TIMEOUT)
    if wiped is None:
        agent_client.exchange({"op": protocol.STOP}, first_byte_timeout=_AGENT_TIMEOUT)
    log.debug("agent: asked to forget its credentials (%s)", "done" if wiped else "stopped")


_AGENT_TIMEOUT = 2  # seconds: a logout may wait a moment for the agent to forget


def _sign_out_file(path: Path, aws: clients.Aws) -> bool:
    with token_file_lock(path):
        try:
            data = read_cache_json(path)
        except FileNotFoundError:
            return False
        except ValueError:
            data = None  # not JSON: not a token file of ours to judge
        if not isinstance(data, dict) or "accessToken" not in data:
            return False  # a client registration, or not ours to judge
        try:
            token = AccessToken.from_cache(data)
        except ValueError as error:
            raise ConfigError(
                f"the SSO token cache {path} is unusable: {error}",
                f"it is kept; delete it yourself if it is no longer needed: {path}",
            ) from None
        what = token.start_url or path.name
        if token.region:
            _portal_logout(aws, token.region, token.access_token, what)
        path.unlink(missing_ok=True)
        say(f"signed out of {what}")
        return True


def _portal_logout(aws: clients.Aws, region: str, access_token: str, what: str) -> None:
    client = aws.sso(region)
    try:
        # An already expired or revoked token (401) has nothing left to end.
        with (
            clients.translate_errors("AWS SSO Logout"),
            suppress(client.exceptions.UnauthorizedException),
        ):
            client.logout(accessToken=access_token)
    except SsoexecError as error:
        say(
            f"warning: {error.message}; the token for {what} is deleted here but AWS may "
            "honour it until it expires"
        )
