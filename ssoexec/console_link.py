"""The one-time loopback link that hands the console's sign-in URL to the browser.

A browser is started with its URL in its argv, which every local user can read (`ps`); the
federation URL holds a sign-in token that is a bearer credential for 15 minutes. So the
browser gets `http://127.0.0.1:<port>/<256 random bits>` instead, which answers exactly once,
with a redirect (302, as the IAM guide recommends) to the sign-in URL, and then stops
listening. Any other path gets a 404, and the secret path is compared in constant time. The
HTTP side (loopback only, no request logged, nothing a client does reaching the terminal) is
local_http's.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from email.message import Message

from ssoexec.local_http import LocalServer, Response

_GONE = b"<!doctype html><title>Not found</title><p>Nothing here.</p>"


class OneTimeLink:
    """Listening on 127.0.0.1 from creation until the link is used or `close`d."""

    def __init__(self, target: str, *, read_timeout: float = 10.0) -> None:
        self._target = target
        self._path = "/" + secrets.token_urlsafe(32)  # 256 bits
        self._used = threading.Event()
        self._lock = threading.Lock()
        self._server = LocalServer(
            self._respond, name="console link", read_timeout=read_timeout
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.address[1]}{self._path}"

    def wait(self, timeout: float) -> bool:
        """Whether the link was followed within `timeout` seconds (call again to go on)."""
        return self._used.wait(timeout)

    def close(self) -> None:
        """Stop listening (once the redirect has left, when it was used)."""
        self._server.stop(drain=5)

    def __enter__(self) -> OneTimeLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _respond(self, path: str, headers: Message) -> Response:
        with self._lock:
            first = not self._used.is_set() and hmac.compare_digest(
                path.encode("utf-8", "replace"), self._path.encode()
            )
            if first:
                self._used.set()
        if not first:
            return Response(404, "text/html; charset=utf-8", _GONE, close=True)
        return Response(
            302,
            "text/plain; charset=utf-8",
            b"",
            close=True,
            headers=(("Location", self._target), ("Referrer-Policy", "no-referrer")),
        )
