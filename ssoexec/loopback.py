"""The loopback listener that receives the browser's redirect in the PKCE sign-in.

Made for real browsers: they open idle speculative connections, retry a request whose
connection closed unanswered, and ask for /favicon.ico. So each connection is served on its
own thread with a read timeout; the first callback that carries the right state wins; it (and
any retry of it) is answered only once the token exchange is over, with a short page that says
whether it worked and never shows the code or a token; anything else gets a 404. Nothing a
local process does to the socket (resets, half requests, garbage) reaches the terminal.
"""

from __future__ import annotations

import html
import logging
import queue
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

CALLBACK_PATH = "/oauth/callback"


@dataclass(frozen=True)
class Callback:
    """What the browser brought back: an authorization code, or the error it was sent."""

    code: str | None
    error: str | None


class Listener:
    """Bound to 127.0.0.1 on a free port as soon as it is created, before any browser opens."""

    def __init__(self, state: str, *, read_timeout: float = 10.0) -> None:
        self.state = state
        self.wrong_state_seen = threading.Event()
        self._callbacks: queue.Queue[Callback] = queue.Queue(maxsize=1)
        self._claimed = False
        self._claim_lock = threading.Lock()
        self._outcome = threading.Event()
        self._succeeded = False
        self._answering = 0  # callback requests still writing their page
        self._answered = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self, read_timeout))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> Callback | None:
        """The winning callback, or None after `timeout` seconds (call again to keep waiting)."""
        try:
            return self._callbacks.get(timeout=timeout)
        except queue.Empty:
            return None

    def finish(self, succeeded: bool) -> None:
        """Release the browser's waiting request(s) with the outcome page."""
        self._succeeded = succeeded
        self._outcome.set()

    def close(self) -> None:
        """Stop listening, once the browser has its answer (ssoexec may exit right after)."""
        self.finish(self._succeeded)
        with self._answered:
            self._answered.wait_for(lambda: self._answering == 0, timeout=5)
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # called from the connection threads

    def _claim(self, callback: Callback) -> None:
        with self._claim_lock:
            if not self._claimed:
                self._claimed = True
                self._callbacks.put(callback)

    def _page(self) -> tuple[int, str]:
        self._outcome.wait(timeout=120)
        if self._succeeded:
            return 200, _page("Signed in", "ssoexec is signed in. You can close this tab.")
        return 400, _page("Sign-in failed", "ssoexec could not sign in: see the terminal.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 128  # a browser's burst of speculative connections

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that resets or hangs up is its own business: never a traceback."""
        error = sys.exc_info()[1]
        log.debug("a client of the sign-in listener failed: %s", type(error).__name__)


def _handler_for(listener: Listener, read_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout  # an idle speculative connection must not hold a thread forever
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != CALLBACK_PATH:
                return self._answer(404, _page("Not found", "Nothing here."))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if query.get("state") != listener.state:
                listener.wrong_state_seen.set()
                return self._answer(
                    400,
                    _page(
                        "Not this sign-in",
                        "This link does not belong to the ssoexec "
                        "sign-in waiting on this computer. Nothing was done.",
                    ),
                )
            code, error = query.get("code"), query.get("error")
            with listener._answered:
                listener._answering += 1
            try:
                listener._claim(Callback(code=code, error=error if not code else None))
                self._answer(*listener._page())
            finally:
                with listener._answered:
                    listener._answering -= 1
                    listener._answered.notify_all()

        def _answer(self, status: int, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def log_message(self, *_: object) -> None:  # the URL holds the code: never log it
            pass

    return Handler


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body style='font-family:sans-serif;margin:3em'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></body></html>"
    )
