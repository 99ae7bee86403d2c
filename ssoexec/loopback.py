"""The loopback listener that receives the browser's redirect in the PKCE sign-in.

Made for real browsers: they open idle speculative connections, retry a request whose
connection closed unanswered, and ask for /favicon.ico. So each connection is served on its
own thread with a read timeout; the first callback that carries the right state wins; it (and
any retry of it) is answered only once the token exchange is over, with a short page that says
whether it worked and never shows the code or a token; anything else gets a 404. The HTTP
side (loopback only, backlog, no tracebacks, no request logged, a stop that does not wait for
a poll) is local_http's.
"""

from __future__ import annotations

import html
import queue
import threading
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qs, urlsplit

from ssoexec.local_http import LocalServer, Response

CALLBACK_PATH = "/oauth/callback"
OUTCOME_TIMEOUT = 120.0  # seconds a browser's callback request waits for the token exchange


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
        self._waiting = 0  # callback requests waiting for the outcome
        self._waiting_lock = threading.Lock()
        self._server = LocalServer(
            self._respond, name="sign-in listener", read_timeout=read_timeout
        ).start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.address[1]}{CALLBACK_PATH}"

    @property
    def callbacks_waiting(self) -> int:
        """Callback requests (the winner and its retries) not yet answered with the outcome."""
        with self._waiting_lock:
            return self._waiting

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
        self._server.stop(drain=5)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # called from the connection threads

    def _respond(self, path: str, headers: Message) -> Response:
        url = urlsplit(path)
        if url.path != CALLBACK_PATH:
            return _page(404, "Not found", "Nothing here.")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if query.get("state") != self.state:
            self.wrong_state_seen.set()
            return _page(
                400,
                "Not this sign-in",
                "This link does not belong to the ssoexec "
                "sign-in waiting on this computer. Nothing was done.",
            )
        code, error = query.get("code"), query.get("error")
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._claim(Callback(code=code, error=error if not code else None))
            return self._outcome_page()
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _claim(self, callback: Callback) -> None:
        with self._claim_lock:
            if not self._claimed:
                self._claimed = True
                self._callbacks.put(callback)

    def _outcome_page(self) -> Response:
        self._outcome.wait(timeout=OUTCOME_TIMEOUT)
        if self._succeeded:
            return _page(200, "Signed in", "ssoexec is signed in. You can close this tab.")
        return _page(400, "Sign-in failed", "ssoexec could not sign in: see the terminal.")


def _page(status: int, title: str, text: str) -> Response:
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body style='font-family:sans-serif;margin:3em'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></body></html>"
    )
    return Response(status, "text/html; charset=utf-8", page.encode("utf-8"), close=True)
