"""--server: the loopback container-credentials endpoint, and the refresher that feeds it.

The child's SDKs find it through AWS_CONTAINER_CREDENTIALS_FULL_URI and authenticate with
AWS_CONTAINER_AUTHORIZATION_TOKEN (sent verbatim as the Authorization header). It listens on
127.0.0.1 only, on a random port; the token is 256 random bits, compared in constant time;
it serves exactly one profile's credentials, at exactly one path.

botocore re-fetches on every call once credentials have under 15 minutes left, so the
refresher replaces them before that point: what is handed out always has more than 15
minutes left. A failed refresh is retried with backoff and reported once; meanwhile the last
good credentials are served for as long as they are valid.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ssoexec.credentials import RoleCredentials
from ssoexec.errors import SsoexecError
from ssoexec.timestamps import format_timestamp, utcnow

log = logging.getLogger(__name__)

PATH = "/credentials"
SDK_REFRESH_WINDOW = timedelta(minutes=15)  # botocore's advisory refresh window
_MAX_MARGIN = timedelta(minutes=5)
_MIN_MARGIN = timedelta(seconds=1)
_BACKOFF = (1, 2, 4, 8, 15, 30)


class CredentialServer:
    """Serve `fetch()`'s credentials on 127.0.0.1 until stopped, refreshing them in time."""

    def __init__(self, fetch: Callable[[], RoleCredentials], first: RoleCredentials) -> None:
        self._fetch = fetch
        self._current = first
        self._issued = utcnow()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.token = secrets.token_urlsafe(32)  # 256 bits
        self._http = _Server(("127.0.0.1", 0), _handler_for(self))
        self._threads = [
            threading.Thread(target=self._http.serve_forever, daemon=True),
            threading.Thread(target=self._refresh_forever, daemon=True),
        ]

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}{PATH}"

    def start(self) -> CredentialServer:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._http.shutdown()
        self._http.server_close()

    def current(self) -> RoleCredentials | None:
        """The credentials to hand out, or None once even the last good ones have expired."""
        with self._lock:
            credentials = self._current
        if credentials.expiration is not None and credentials.expiration <= utcnow():
            return None
        return credentials

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self.token.encode())

    # the refresher

    def _refresh_forever(self) -> None:
        failures = 0
        while not self._stopped.wait(self._seconds_to_next_refresh(failures)):
            try:
                fresh = self._fetch()
            except SsoexecError as error:
                failures += 1
                if failures == 1:
                    _say(
                        f"could not refresh the credentials ({error.message}); serving the "
                        f"current ones until they expire, and retrying"
                    )
                continue
            except Exception as error:  # anything at all: the child must keep its endpoint
                failures += 1
                if failures == 1:
                    _say(f"could not refresh the credentials ({type(error).__name__}); retrying")
                continue
            with self._lock:
                self._current, self._issued = fresh, utcnow()
            if failures:
                _say("credential refresh works again")
            failures = 0
            log.debug("refreshed the served credentials: %s", fresh)

    def _seconds_to_next_refresh(self, failures: int) -> float:
        if failures:
            return _BACKOFF[min(failures, len(_BACKOFF)) - 1]
        with self._lock:
            credentials, issued = self._current, self._issued
        if credentials.expiration is None:
            return 3600.0  # credentials that never expire need no refresh; look again hourly
        return max(0.0, (refresh_time(issued, credentials.expiration) - utcnow()).total_seconds())


def refresh_time(issued, expiration):
    """When to replace credentials issued at `issued`: before they drop under botocore's
    15-minute window, by a margin of half the time they spend above it (1 s to 5 min); for
    credentials that never live 15 minutes, at half their life."""
    lifetime = expiration - issued
    if lifetime <= SDK_REFRESH_WINDOW:
        return issued + lifetime / 2
    margin = min(max((lifetime - SDK_REFRESH_WINDOW) / 2, _MIN_MARGIN), _MAX_MARGIN)
    return expiration - SDK_REFRESH_WINDOW - margin


def credentials_document(credentials: RoleCredentials) -> dict:
    """The container-credentials response: every field a string, Expiration with `Z` (the
    JavaScript SDK rejects an offset), as ECS serves it."""
    document = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "Token": credentials.session_token or "",
        "Expiration": format_timestamp(credentials.expiration or utcnow() + timedelta(hours=12)),
    }
    if credentials.account_id:
        document["AccountId"] = credentials.account_id
    return document


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def _handler_for(server: CredentialServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path != PATH:
                return self._answer(404, {"message": "not found"})
            if not server.authorized(self.headers.get("Authorization")):
                return self._answer(401, {"message": "missing or wrong authorization token"})
            credentials = server.current()
            if credentials is None:
                return self._answer(
                    503,
                    {
                        "message": "the credentials expired and could not "
                        "be refreshed: see ssoexec's messages"
                    },
                )
            return self._answer(200, credentials_document(credentials))

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:  # nothing about requests reaches stderr
            pass

    return Handler


def _say(text: str) -> None:
    print(f"ssoexec: {text}", file=sys.stderr, flush=True)
