"""The agent process: a Unix socket, one request per connection, credentials in memory.

Started detached by `ssoexec agent start` (control.py) as `python -m ssoexec.agent SOCKET`.
Before anything else it is made non-dumpable with a core limit of 0; its socket is created
0600 in the checked 0700 directory, and every connection's peer uid is checked (SO_PEERCRED on
Linux, getpeereid on macOS and the BSDs; elsewhere it does not start). Each connection gets a
thread and a read timeout, so a client that connects and sends nothing holds up no one. It
never writes to disk but its socket, never prints (its stdio is /dev/null), and exits after
SSOEXEC_AGENT_IDLE seconds (default an hour) without a request, on `stop`, on SIGTERM, or when
its socket file is removed or replaced by another agent's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import socket
import struct
import threading
import time
from pathlib import Path

from ssoexec.agent import protocol
from ssoexec.agent.paths import AgentDirError, check_dir
from ssoexec.agent.store import FETCH_TIMEOUT, Store
from ssoexec.coredump import forbid_core_dumps

DEFAULT_IDLE = 3600.0  # seconds
READ_TIMEOUT = 2.0  # seconds for a client to send its request
MAX_CONNECTIONS = 128  # at once; more are closed unanswered (the client goes the cold way)


def idle_seconds(environ: dict | os._Environ = os.environ) -> float:
    try:
        value = float(environ.get("SSOEXEC_AGENT_IDLE", ""))
    except ValueError:
        return DEFAULT_IDLE
    return value if value > 0 else DEFAULT_IDLE


class Agent:
    def __init__(self, path: Path, *, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.store = Store()
        self.stopping = threading.Event()
        self.last_request = time.monotonic()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        self._wake_up, self._waker = socket.socketpair()  # cuts the selector's wait short

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._waker.send(b"x")

    def bind(self) -> None:
        """Listen on the socket, 0600 in a checked directory. OSError if it exists."""
        check_dir(self.path.parent)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        except OSError:
            listener.close()
            raise
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        listener.listen(MAX_CONNECTIONS)
        listener.setblocking(False)  # the selector says when; a spurious wake-up never blocks
        info = os.stat(self.path)
        self._identity = (info.st_dev, info.st_ino)
        self._listener = listener

    def serve(self) -> None:
        """Accept until stopped, idle, or the socket file is no longer ours. Every `tick`
        seconds, busy or not: those checks, and the store's upkeep (refresh ahead)."""
        assert self._listener is not None
        tick = min(1.0, max(0.05, self.idle / 4))
        next_tick = time.monotonic() + tick
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_up, selectors.EVENT_READ)
            while not self.stopping.is_set():
                ready = selector.select(timeout=max(0.0, next_tick - time.monotonic()))
                if ready and not self.stopping.is_set():
                    self._accept()
                if time.monotonic() < next_tick:
                    continue
                next_tick = time.monotonic() + tick
                if time.monotonic() - self.last_request >= self.idle or not self._still_ours():
                    break
                self.store.tick()
        self.close()

    def close(self) -> None:
        self.store.wipe()
        self.store.kill_fetches()
        if self._listener is not None:
            if self._still_ours():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            self._listener.close()
            self._listener = None

    def _still_ours(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._identity

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        if peer_uid(conn) != os.geteuid() or not self._slots.acquire(blocking=False):
            conn.close()  # another user's (or one too many): not a word
            return
        threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(READ_TIMEOUT)
                request = protocol.decode(_read_line(conn))
                if request is None:
                    return
                if request.get("op") == protocol.STOP:  # whatever the version: see protocol
                    self.store.wipe()
                    _send(conn, {"ok": True})
                    self.stop()
                    return
                if request.get("v") != protocol.PROTOCOL:
                    _send(conn, {"ok": False, "miss": "another version"})
                    return
                self.last_request = time.monotonic()
                self._answer(conn, request)
        except (OSError, ValueError):
            pass  # the client went away, sent garbage, or was too slow: it goes the cold way
        finally:
            self._slots.release()

    def _answer(self, conn: socket.socket, request: dict) -> None:
        op = request.get("op")
        if op == protocol.GET:
            self._get(conn, request)
        elif op == protocol.PUT:
            key = _key(request)
            _check_request(request)
            self.store.put(key, request, request.get("credentials"))
            _send(conn, {"ok": True})
        elif op == protocol.WIPE:
            self.store.wipe()
            _send(conn, {"ok": True})
        elif op == protocol.STATUS:
            idle_exit_in = max(0, int(self.idle - (time.monotonic() - self.last_request)))
            entries = self.store.status()
            _send(
                conn,
                {"ok": True, "pid": os.getpid(), "entries": entries, "idle_exit_in": idle_exit_in},
            )
        elif op == protocol.PEEK:
            _send(conn, {"ok": True, "warm": self.store.peek(_key(request))})
        else:
            _send(conn, {"ok": False, "miss": "unknown request"})

    def _get(self, conn: socket.socket, request: dict) -> None:
        key = _key(request)
        entry = self.store.serve(key)
        if entry is None:
            reason = self.store.known_failure(key)
            if reason is not None:
                _send(conn, {"ok": False, "miss": reason})
                return
            _check_request(request)
            _send(conn, {"wait": True})
            flight = self.store.fetch(key, request)
            if not flight.done.wait(FETCH_TIMEOUT + 5) or flight.entry is None:
                _send(conn, {"ok": False, "miss": flight.miss})
                return
            entry = flight.entry
        _send(
            conn,
            {"ok": True, "credentials": entry.credentials, "profile_region": entry.profile_region},
        )


def _key(request: dict) -> str:
    key = request.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("a request without a key")
    return key


def _check_request(request: dict) -> None:
    """A request the agent may fetch for: a profile name, a region or none, an env of text."""
    env, profile, region = request.get("env"), request.get("profile"), request.get("region")
    if not (isinstance(profile, str) and profile and not profile.startswith("-")):
        raise ValueError("no profile")
    if region is not None and not (isinstance(region, str) and region):
        raise ValueError("a bad region")
    target = request.get("target")
    if target is not None and not (
        isinstance(target, list)
        and len(target) == 3
        and all(isinstance(part, str) and part and not part.startswith("-") for part in target)
    ):
        raise ValueError("a bad target")
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\0" not in k + v for k, v in env.items()
    ):
        raise ValueError("a bad env")


def _read_line(conn: socket.socket) -> bytes:
    """One request line, at most MAX_LINE bytes; ValueError or OSError otherwise."""
    buffer = b""
    while b"\n" not in buffer:
        if len(buffer) >= protocol.MAX_LINE:
            raise ValueError("request too long")
        chunk = conn.recv(protocol.MAX_LINE - len(buffer))
        if not chunk:
            raise ValueError("no request")
        buffer += chunk
    line = buffer.partition(b"\n")[0]
    if len(line) >= protocol.MAX_LINE:
        raise ValueError("request too long")
    return line


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(protocol.encode(message))


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, or None if unknown."""
    try:
        if hasattr(socket, "SO_PEERCRED"):  # Linux
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return struct.unpack("3i", creds)[1]
        uid, gid = ctypes.c_uint32(), ctypes.c_uint32()
        if _libc().getpeereid(conn.fileno(), ctypes.byref(uid), ctypes.byref(gid)) == 0:
            return uid.value
    except (OSError, AttributeError):
        pass
    return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def peer_check_supported() -> bool:
    if hasattr(socket, "SO_PEERCRED"):
        return True
    try:
        return hasattr(_libc(), "getpeereid")
    except OSError:
        return False


def main(argv: list[str]) -> int:
    """`python -m ssoexec.agent SOCKET [READY_FD]`: run the agent until it stops; once it
    listens, it writes "1" to READY_FD and closes it. Exit status 0 after a normal stop; 1 when
    it cannot start (an unsafe directory, a socket already there)."""
    forbid_core_dumps()  # first: everything after this may hold secrets
    os.chdir("/")
    if len(argv) not in (1, 2) or not peer_check_supported():
        return 1
    agent = Agent(Path(argv[0]), idle=idle_seconds())
    try:
        agent.bind()
    except (OSError, AgentDirError):
        return 1
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if len(argv) == 2:
        with contextlib.suppress(OSError, ValueError):
            ready = int(argv[1])
            os.write(ready, b"1")
            os.close(ready)
    try:
        agent.serve()
    finally:
        agent.close()
    return 0
