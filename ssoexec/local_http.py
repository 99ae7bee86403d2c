"""A threaded HTTP server on 127.0.0.1: the sign-in listener and the --server endpoint.

An app is a function from a request's path and headers to a `Response`; each connection is
served on its own thread with a read timeout (an idle connection must not hold a thread for
ever). What both listeners need and one place gives them: a random port on 127.0.0.1 only; a
listen backlog that holds a `make -j200` burst of SDK clients or a browser's speculative
connections; nothing a local process does to the socket (resets, half requests, garbage)
reaching the terminal; each response leaving in one write with TCP_NODELAY, so a kept-alive
connection sees no Nagle/delayed-ACK stall; no request ever logged (a URL may hold a code);
and `stop` waking the accept loop at once instead of waiting for serve_forever's 0.5 s poll.
"""

from __future__ import annotations

import logging
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

BACKLOG = 1024  # the listen backlog (capped by net.core.somaxconn)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    close: bool = False  # close the connection after this response
    headers: tuple[tuple[str, str], ...] = ()  # more headers (a redirect's Location)


App = Callable[[str, Message], Response]  # (request path with query, headers) -> response


class LocalServer:
    """Bound to 127.0.0.1 on a free port as soon as it is created; serves from `start` on."""

    def __init__(
        self,
        app: App,
        *,
        name: str,
        read_timeout: float = 10.0,
        accept: Callable[[tuple[str, int]], bool] | None = None,
    ) -> None:
        """`accept`, if given, decides from a client's address whether to serve it at all
        (else the connection is closed unanswered)."""
        self._http = _Server(("127.0.0.1", 0), _handler_for(app, read_timeout, self))
        self._http.name = name
        if accept is not None:
            self._http.verify_request = lambda _request, address: accept(address)
        self._stopped = threading.Event()
        self._answering = 0  # requests in the app or writing its response
        self._answered = threading.Condition()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._serve_until_stopped, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self, *, drain: float = 0.0) -> None:
        """Stop at once: no poll interval to wait out, no connection thread to join; with
        `drain`, first give the requests being answered up to that many seconds to finish."""
        if drain:
            with self._answered:
                self._answered.wait_for(lambda: self._answering == 0, timeout=drain)
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._wake_writer.send(b"x")
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)
        self._http.server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _answering_changed(self, by: int) -> None:
        with self._answered:
            self._answering += by
            self._answered.notify_all()

    def _serve_until_stopped(self) -> None:
        """serve_forever, woken by `stop` through a socket pair rather than a 0.5 s poll."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._http, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._http and not self._stopped.is_set():
                        self._http.handle_request_now()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = BACKLOG
    name = "local server"

    def handle_request_now(self) -> None:
        """Accept and serve one waiting connection (the selector said there is one)."""
        self._handle_request_noblock()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that resets or hangs up is its own business: never a traceback."""
        error = sys.exc_info()[1]
        log.debug("a client of the %s failed: %s", self.name, type(error).__name__)


def _handler_for(
    app: App, read_timeout: float, server: LocalServer
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout
        protocol_version = "HTTP/1.1"
        wbufsize = 64 * 1024  # headers and body leave in one write, flushed once per request

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            server._answering_changed(+1)
            try:
                response = app(self.path, self.headers)
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in response.headers:
                    self.send_header(name, value)
                if response.close:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(response.body)
                self.wfile.flush()  # the one write
            finally:
                server._answering_changed(-1)

        def log_message(self, *_: object) -> None:  # nothing about requests reaches stderr
            pass

    return Handler
