"""--server: the loopback container-credentials endpoint, and the refresher that feeds it.

The child's SDKs find it through AWS_CONTAINER_CREDENTIALS_FULL_URI and authenticate with
AWS_CONTAINER_AUTHORIZATION_TOKEN (sent verbatim as the Authorization header). It listens on
127.0.0.1 only, on a random port; the token is 256 random bits, compared in constant time;
it serves exactly one profile's credentials, at exactly one path.

botocore re-fetches on every call once credentials have under 15 minutes left, so the
refresher replaces them before that point: credentials issued for more than 15 minutes are
handed out only while they have more than 15 minutes left. Credentials that never live that
long (a role chain with duration_seconds = 900) are replaced at half their life, so what is
handed out then has at least half its lifetime left, under 15 minutes. A failed refresh is
retried with backoff and reported once; meanwhile the last good credentials are served for as
long as they are valid.

The HTTP side (loopback only, backlog, no tracebacks, one write per response, a stop that
does not wait for a poll) is local_http's. The refresher takes its clock and its wait as
parameters, so its schedule and backoff can be tested without waiting for real minutes.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import Message

from ssoexec.credentials import RoleCredentials
from ssoexec.errors import SsoexecError
from ssoexec.local_http import LocalServer, Response
from ssoexec.terminal import say
from ssoexec.timestamps import format_timestamp, utcnow

log = logging.getLogger(__name__)

PATH = "/credentials"
SDK_REFRESH_WINDOW = timedelta(minutes=15)  # botocore's advisory refresh window
_MAX_MARGIN = timedelta(minutes=5)
_MIN_MARGIN = timedelta(seconds=1)
BACKOFF = (1, 2, 4, 8, 15, 30)  # seconds between attempts after 1, 2, ... failed refreshes
NO_EXPIRY_RECHECK = 3600.0  # credentials that never expire need no refresh; look again hourly

Clock = Callable[[], datetime]
Wait = Callable[[float], bool]  # wait up to that many seconds; True once it is time to stop


class CredentialServer:
    """Serve `fetch()`'s credentials on 127.0.0.1 until stopped, refreshing them in time.

    `now` and `wait` default to the real clock and to a wait that `stop` cuts short."""

    def __init__(
        self,
        fetch: Callable[[], RoleCredentials],
        first: RoleCredentials,
        *,
        now: Clock = utcnow,
        wait: Wait | None = None,
    ) -> None:
        self._stopped = threading.Event()
        self.refresher = Refresher(fetch, first, now=now, wait=wait or self._stopped.wait)
        self.token = secrets.token_urlsafe(32)  # 256 bits
        self._http = LocalServer(self._respond, name="credentials endpoint")
        self._refreshing = threading.Thread(target=self.refresher.run, daemon=True)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._http.address[1]}{PATH}"

    def start(self) -> CredentialServer:
        self._http.start()
        self._refreshing.start()
        return self

    def stop(self) -> None:
        """Stop at once: no poll interval to wait out, no connection thread to join."""
        self._stopped.set()
        self._http.stop()

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self.token.encode())

    def _respond(self, path: str, headers: Message) -> Response:
        if path != PATH:
            return _json(404, {"message": "not found"})
        if not self.authorized(headers.get("Authorization")):
            return _json(401, {"message": "missing or wrong authorization token"})
        credentials = self.refresher.current()
        if credentials is None:
            return _json(
                503,
                {
                    "message": "the credentials expired and could not "
                    "be refreshed: see ssoexec's messages"
                },
            )
        return _json(200, credentials_document(credentials, now=self.refresher.now))


class Refresher:
    """Holds the credentials to serve and replaces them in time (`run`, on its own thread).

    A failed refresh is retried after BACKOFF and reported once (then once more when it
    works again); the last good credentials are served for as long as they are valid."""

    def __init__(
        self,
        fetch: Callable[[], RoleCredentials],
        first: RoleCredentials,
        *,
        now: Clock = utcnow,
        wait: Wait,
    ) -> None:
        self._fetch = fetch
        self.now = now
        self._wait = wait
        self._lock = threading.Lock()
        self._current, self._issued = first, now()

    def current(self) -> RoleCredentials | None:
        """The credentials to hand out, or None once even the last good ones have expired."""
        with self._lock:
            credentials = self._current
        if credentials.expiration is not None and credentials.expiration <= self.now():
            return None
        return credentials

    def run(self) -> None:
        """Refresh until `wait` says stop."""
        failures = 0
        while not self._wait(self.seconds_to_next_refresh(failures)):
            try:
                fresh = self._fetch()
            except SsoexecError as error:
                failures += 1
                if failures == 1:
                    say(
                        f"could not refresh the credentials ({error.message}); serving the "
                        f"current ones until they expire, and retrying"
                    )
                continue
            except Exception as error:  # anything at all: the child must keep its endpoint
                failures += 1
                if failures == 1:
                    say(f"could not refresh the credentials ({type(error).__name__}); retrying")
                continue
            with self._lock:
                self._current, self._issued = fresh, self.now()
            if failures:
                say("credential refresh works again")
            failures = 0
            log.debug("refreshed the served credentials: %s", fresh)

    def seconds_to_next_refresh(self, failures: int) -> float:
        if failures:
            return BACKOFF[min(failures, len(BACKOFF)) - 1]
        with self._lock:
            credentials, issued = self._current, self._issued
        if credentials.expiration is None:
            return NO_EXPIRY_RECHECK
        return max(0.0, (refresh_time(issued, credentials.expiration) - self.now()).total_seconds())


def refresh_time(issued: datetime, expiration: datetime) -> datetime:
    """When to replace credentials issued at `issued`: before they drop under botocore's
    15-minute window, by a margin of half the time they spend above it (1 s to 5 min); for
    credentials that never live 15 minutes, at half their life."""
    lifetime = expiration - issued
    if lifetime <= SDK_REFRESH_WINDOW:
        return issued + lifetime / 2
    margin = min(max((lifetime - SDK_REFRESH_WINDOW) / 2, _MIN_MARGIN), _MAX_MARGIN)
    return expiration - SDK_REFRESH_WINDOW - margin


def credentials_document(credentials: RoleCredentials, *, now: Clock = utcnow) -> dict:
    """The container-credentials response: every field a string, Expiration with `Z` (the
    JavaScript SDK rejects an offset), as ECS serves it."""
    document = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "Token": credentials.session_token or "",
        "Expiration": format_timestamp(credentials.expiration or now() + timedelta(hours=12)),
    }
    if credentials.account_id:
        document["AccountId"] = credentials.account_id
    return document


def _json(status: int, body: dict) -> Response:
    return Response(status, "application/json", json.dumps(body).encode())
