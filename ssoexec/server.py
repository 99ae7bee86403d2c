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

Nothing a local process does to the socket (resets, half requests, garbage) reaches the
terminal; the listen backlog holds a `make -j200` burst of SDK clients; each response leaves
in one write with TCP_NODELAY, so a kept-alive connection sees no Nagle/delayed-ACK stall;
and `stop` wakes the accept loop at once instead of waiting for a poll interval.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ssoexec.credentials import RoleCredentials
from ssoexec.errors import SsoexecError
from ssoexec.terminal import say
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
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._threads = [
            threading.Thread(target=self._serve_until_stopped, daemon=True),
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
        """Stop at once: no poll interval to wait out, no connection thread to join."""
        self._stopped.set()
        self._wake_writer.send(b"x")
        if self._threads[0].ident is not None:  # started
            self._threads[0].join(timeout=5)
        self._http.server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _serve_until_stopped(self) -> None:
        """serve_forever, woken by `stop` through a socket pair rather than a 0.5 s poll."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._http, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._http and not self._stopped.is_set():
                        self._http.handle_request_now()

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
                self._current, self._issued = fresh, utcnow()
            if failures:
                say("credential refresh works again")
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
    request_queue_size = 1024  # the listen backlog (capped by net.core.somaxconn)

    def handle_request_now(self) -> None:
        """Accept and serve one waiting connection (the selector said there is one)."""
        self._handle_request_noblock()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that resets or hangs up is its own business: never a traceback."""
        error = sys.exc_info()[1]
        log.debug("a client of the credentials endpoint failed: %s", type(error).__name__)


def _handler_for(server: CredentialServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10
        protocol_version = "HTTP/1.1"
        wbufsize = 64 * 1024  # headers and body leave in one write, flushed once per request

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
