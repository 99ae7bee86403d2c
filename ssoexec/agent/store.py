"""What the agent holds: credentials per request key, how long they are served, and the fetches
that fill and refresh them.

Credentials are handed out only while they have at least 3/4 of their lifetime left, the
lifetime counted from when the agent got them (from the put, for handed-over ones): a command
started from a warm run is then no worse off than from a cold one. For keys used in the last
RECENT seconds, a fetch starts ahead, at REFRESH_AT of the lifetime, so the next run finds new
ones. Credentials that cannot be fetched again (the fetch failed: an expired token, an MFA
code to type) are served until they drop under 3/4, then dropped.

A fetch runs the cold path in a child process (`ssoexec agent fetch`), with the request's
environment, never signing in or prompting; parallel misses for one key share one fetch. An
entry fetched from an SSO token is dropped as soon as that token file changes (another sign-in,
perhaps as someone else). A failed fetch is remembered for a short while, so that a run of
misses does not start a fetch each.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from ssoexec.agent import protocol

SERVE_FRACTION = 0.75  # of the lifetime left, at least, to be handed out
REFRESH_AT = 0.2  # of the lifetime gone, a recently used key is fetched again
RECENT = 30 * 60.0  # seconds: a key used this recently is refreshed ahead
NO_EXPIRY_LIFETIME = 3600.0  # seconds, for credentials without an expiration (static keys)
FETCH_TIMEOUT = 60.0
FAILURE_MEMORY = 30.0  # seconds a failed fetch answers later gets at once
MAX_FETCHES = 8  # child processes at once
_OUTPUT_LIMIT = 64 * 1024


@dataclass
class Entry:
    profile: str
    region: str | None  # --region of the request
    env: dict[str, str] = field(repr=False)
    credentials: dict = field(repr=False)  # protocol's wire form
    profile_region: str | None
    token_file: str | None
    token_identity: tuple | None
    got_at: float
    expires: float
    last_used: float
    refreshable: bool = True

    def fresh(self, now: float) -> bool:
        return self.expires > now and self.expires - now >= SERVE_FRACTION * (
            self.expires - self.got_at
        )

    def due(self, now: float) -> bool:
        return now - self.got_at >= REFRESH_AT * (self.expires - self.got_at)


@dataclass
class Flight:
    """One fetch for one key, shared by every request that waits for it."""

    generation: int
    done: threading.Event = field(default_factory=threading.Event)
    entry: Entry | None = None
    miss: str = "fetch failed"


@dataclass(frozen=True)
class Failure:
    reason: str
    until: float
    token_file: str | None
    token_identity: tuple | None


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._flights: dict[str, Flight] = {}
        self._failures: dict[str, Failure] = {}
        self._generation = 0
        self._fetch_slots = threading.BoundedSemaphore(MAX_FETCHES)
        self._children: set[subprocess.Popen] = set()

    # ---------------------------------------------------------------- answers

    def serve(self, key: str) -> Entry | None:
        """The entry for `key` if it may be handed out now; marks it used."""
        now = time.time()
        with self._lock:
            entry = self._usable(key, now)
            if entry is not None:
                entry.last_used = now
            return entry

    def peek(self, key: str) -> bool:
        with self._lock:
            return self._usable(key, time.time()) is not None

    def known_failure(self, key: str) -> str | None:
        """The reason a fetch for `key` failed a moment ago, if nothing changed since."""
        with self._lock:
            failure = self._failures.get(key)
            if failure is None:
                return None
            if time.time() < failure.until and failure.token_identity == token_identity(
                failure.token_file
            ):
                return failure.reason
            del self._failures[key]
            return None

    def fetch(self, key: str, request: dict) -> Flight:
        """The fetch for `key`: the one under way, else a new one."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._start(key, request, last_used=time.time())
            return flight

    def put(self, key: str, request: dict, credentials: dict, now: float | None = None) -> None:
        now = time.time() if now is None else now
        token_file = request.get("token_file")
        entry = _entry(request, credentials, token_file, now, last_used=now)
        with self._lock:
            self._entries[key] = entry
            self._failures.pop(key, None)

    def wipe(self) -> None:
        with self._lock:
            self._entries.clear()
            self._failures.clear()
            self._generation += 1  # fetches under way now store nothing

    def status(self) -> list[dict]:
        now = time.time()
        with self._lock:
            return [
                {
                    "profile": entry.profile,
                    "region": entry.region or entry.profile_region,
                    "minutes_left": int((entry.expires - now) // 60),
                    "refreshable": entry.refreshable,
                }
                for key in list(self._entries)
                if (entry := self._usable(key, now)) is not None
            ]

    # ---------------------------------------------------------------- upkeep

    def tick(self) -> None:
        """Drop what can no longer be served or has been forgotten; fetch ahead for recently
        used keys."""
        now = time.time()
        with self._lock:
            for key, failure in list(self._failures.items()):
                if now >= failure.until:
                    del self._failures[key]
            for key in list(self._entries):
                entry = self._usable(key, now)
                if (
                    entry is not None
                    and entry.refreshable
                    and entry.due(now)
                    and now - entry.last_used <= RECENT
                    and key not in self._flights
                ):
                    request = {"profile": entry.profile, "region": entry.region, "env": entry.env}
                    self._start(key, request, last_used=entry.last_used, refreshing=entry)

    def kill_fetches(self) -> None:
        with self._lock:
            children = list(self._children)
        for child in children:
            _kill_group(child)

    # ---------------------------------------------------------------- inside, under the lock

    def _usable(self, key: str, now: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.fresh(now) or token_identity(entry.token_file) != entry.token_identity:
            del self._entries[key]
            return None
        return entry

    def _start(
        self, key: str, request: dict, *, last_used: float, refreshing: Entry | None = None
    ) -> Flight:
        flight = Flight(self._generation)
        self._flights[key] = flight
        thread = threading.Thread(
            target=self._fly, args=(key, flight, request, last_used, refreshing), daemon=True
        )
        thread.start()
        return flight

    def _fly(
        self, key: str, flight: Flight, request: dict, last_used: float, refreshing: Entry | None
    ) -> None:
        try:
            with self._fetch_slots:
                answer = self._run_fetch(request)
            now = time.time()
            with self._lock:
                current = flight.generation == self._generation
                credentials = answer.get("credentials")
                if current and isinstance(credentials, dict):
                    flight.entry = _entry(
                        {**request, "profile_region": answer.get("profile_region")},
                        credentials,
                        answer.get("token_file"),
                        now,
                        last_used=last_used,
                    )
                    self._entries[key] = flight.entry
                    self._failures.pop(key, None)
                else:
                    flight.miss = str(answer.get("miss") or "fetch failed")[:100]
                    if refreshing is not None:
                        refreshing.refreshable = False
                    if current:
                        token_file = answer.get("token_file")
                        token_file = token_file if isinstance(token_file, str) else None
                        self._failures[key] = Failure(
                            flight.miss,
                            now + FAILURE_MEMORY,
                            token_file,
                            token_identity(token_file),
                        )
        except Exception as error:  # a thread of the agent: nothing may escape it
            flight.miss = type(error).__name__
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.done.set()

    def _run_fetch(self, request: dict) -> dict:
        """`ssoexec agent fetch` for the request, in a child of its own session: its JSON,
        or {"miss": reason}. Secrets come back over the pipe only."""
        argv = [sys.executable, "-B", "-m", "ssoexec", "agent", "fetch"]
        target = request.get("target")
        if target:  # a role named without a profile: [session, account, role]
            argv += [f"--sso-session={target[0]}", f"--account={target[1]}", f"--role={target[2]}"]
        else:
            argv.append(f"--profile={request['profile']}")  # one word: a name may start "-"
        if request.get("region"):
            argv.append(f"--region={request['region']}")
        env = {**request["env"], "SSOEXEC_LOGIN": "never", "SSOEXEC_AGENT": "off"}
        child = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )
        with self._lock:
            self._children.add(child)
        try:
            output, _ = child.communicate(timeout=FETCH_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            child.communicate()
            return {"miss": "the fetch took too long"}
        finally:
            with self._lock:
                self._children.discard(child)
        answer = protocol.decode(output[:_OUTPUT_LIMIT]) or {}
        if child.returncode != 0 and "miss" not in answer:
            return {"miss": f"the fetch exited with {child.returncode}"}
        return answer


def _entry(
    request: dict, credentials: dict, token_file: object, now: float, *, last_used: float
) -> Entry:
    """An entry for what a fetch or a put brought; ValueError if it is not well-formed."""
    parsed = protocol.credentials_from_wire(credentials)
    if parsed is None:
        raise ValueError("malformed credentials")
    token_file = token_file if isinstance(token_file, str) and token_file else None
    expires = parsed.expiration.timestamp() if parsed.expiration else now + NO_EXPIRY_LIFETIME
    profile_region = request.get("profile_region")
    return Entry(
        profile=request["profile"],
        region=request.get("region"),
        env=request["env"],
        credentials=protocol.credentials_to_wire(parsed),
        profile_region=profile_region if isinstance(profile_region, str) else None,
        token_file=token_file,
        token_identity=token_identity(token_file),
        got_at=now,
        expires=max(expires, now),
        last_used=last_used,
    )


def token_identity(path: str | None) -> tuple | None:
    """What tells a token file from its next version: inode, modification time, size."""
    if path is None:
        return None
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return ("missing",)
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _kill_group(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
