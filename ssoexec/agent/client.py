"""Asking the agent: one request, its answer, never an exception and never a long wait.

The warm path calls this before importing anything heavy, so a dead, stale or wedged agent
must cost at most a few milliseconds: the connect is non-blocking and bounded, the first byte
of the answer must come within `first_byte_timeout`, and only after the agent said it is
fetching (`{"wait": true}`) does the client wait up to `total_timeout` for the rest. Any
problem (no socket, refused, timeout, garbage, another version, an oversize line) is None.
Stdlib only.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from ssoexec.agent import protocol
from ssoexec.agent.paths import socket_path

CONNECT_TIMEOUT = 0.01  # seconds
FIRST_BYTE_TIMEOUT = 0.05
TOTAL_TIMEOUT = 30.0  # a fetch by the agent, after it said "wait"


def ask(
    request: dict,
    *,
    first_byte_timeout: float = FIRST_BYTE_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    path: Path | None = None,
) -> dict | None:
    """The agent's answer to `request`, or None on any problem."""
    answer = exchange(
        request, first_byte_timeout=first_byte_timeout, total_timeout=total_timeout, path=path
    )
    if answer is None or answer.get("v") != protocol.PROTOCOL:
        return None
    return answer


def is_running(path: Path | None = None) -> bool:
    """An agent of this version answers on the socket."""
    answer = ask({"op": protocol.STATUS}, path=path)
    return bool(answer and answer.get("ok"))


def exchange(
    request: dict,
    *,
    first_byte_timeout: float = FIRST_BYTE_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    path: Path | None = None,
) -> dict | None:
    """The answer to `request`, whatever its version (to tell an old agent from none), or
    None on any problem."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return None
    try:
        line = protocol.encode(request)
        path = socket_path() if path is None else path
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            _connect(sock, str(path))
            sock.settimeout(first_byte_timeout)
            sock.sendall(line)
            start = time.monotonic()
            reader = _Lines(sock)
            answer = protocol.decode(reader.line(start + first_byte_timeout))
            if answer is not None and answer.get("wait") is True:
                answer = protocol.decode(reader.line(time.monotonic() + total_timeout))
            return answer
    except (OSError, ValueError):
        return None


def _connect(sock: socket.socket, path: str) -> None:
    """Connect without blocking for longer than CONNECT_TIMEOUT (a full backlog)."""
    sock.setblocking(False)
    try:
        sock.connect(path)
    except (BlockingIOError, InterruptedError):
        import select

        _, writable, _ = select.select([], [sock], [], CONNECT_TIMEOUT)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if writable else 1
        if error:
            raise OSError(error, "cannot connect to the agent") from None


class _Lines:
    """Lines read from a socket, each by a deadline and at most MAX_LINE bytes long."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self, deadline: float) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) >= protocol.MAX_LINE:
                raise ValueError("the agent's answer is too long")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the agent did not answer in time")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(protocol.MAX_LINE)
            if not chunk:
                raise ConnectionError("the agent closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) >= protocol.MAX_LINE:
            raise ValueError("the agent's answer is too long")
        return line
