"""The one-time loopback link that hands the console's sign-in URL to the browser.

A browser is started with its URL in its argv, which every local user can read (`ps`); the
federation URL holds a sign-in token that is a bearer credential for 15 minutes. So the
browser gets `http://127.0.0.1:<port>/<256 random bits>` instead, which answers exactly once,
with a redirect (302, as the IAM guide recommends) to the sign-in URL, and then stops
listening. Any other path gets a 404, and the secret path is compared in constant time. The
HTTP side (loopback only, no request logged, nothing a client does reaching the terminal) is
local_http's.

The link itself is in the browser's argv, so another local user could race the browser to it.
On Linux the link therefore serves only connections from processes of our own user: the
kernel's socket table (/proc/net/tcp) names the owner of the client's end of the connection,
and anyone else's connection is closed unanswered (ssh-agent checks its peer the same way).
Elsewhere there is no such table, and under WSL the Windows browser's connections arrive
through a relay: there the link relies on its one-time answer alone.
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
import struct
import threading
from email.message import Message
from pathlib import Path

from ssoexec.local_http import LocalServer, Response

_GONE = b"<!doctype html><title>Not found</title><p>Nothing here.</p>"


class OneTimeLink:
    """Listening on 127.0.0.1 from creation until the link is used or `close`d."""

    def __init__(self, target: str, *, read_timeout: float = 10.0, check_peer: bool = True) -> None:
        """`check_peer` False: serve any local user (a browser outside this system, as under
        WSL, whose connections reach us through a relay that is not the user's)."""
        self._target = target
        self._path = "/" + secrets.token_urlsafe(32)  # 256 bits
        self._used = threading.Event()
        self._lock = threading.Lock()
        self._server = LocalServer(
            self._respond,
            name="console link",
            read_timeout=read_timeout,
            accept=self._ours if check_peer else None,
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

    def _ours(self, client: tuple[str, int]) -> bool:
        """Whether the client's end of the connection belongs to our user (see above). A
        dual-stack client's socket is in the IPv6 table, under the IPv4-mapped address."""
        if not os.path.exists(SOCKET_TABLES[0]):
            return True  # no such table on this system: no check
        try:
            for path in SOCKET_TABLES:
                table = Path(path).read_text(encoding="ascii", errors="replace")
                owner = socket_owner(table, local=client, remote=self._server.address)
                if owner is not None:
                    return owner == os.geteuid()
        except (OSError, ValueError):
            pass
        return False

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


SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def socket_owner(table: str, *, local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid owning the TCP socket `local` -> `remote` (IPv4 addresses), from the text of
    Linux's /proc/net/tcp, or of /proc/net/tcp6 where a dual-stack socket shows them
    IPv4-mapped; addresses as the kernel prints them, 32-bit words in host byte order and the
    port, in hex. None if the table has no such socket."""
    wanted = {
        (_kernel_address(*local, ipv6), _kernel_address(*remote, ipv6)) for ipv6 in (False, True)
    }
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and (fields[1].upper(), fields[2].upper()) in wanted:
            return int(fields[7])
    return None


def _kernel_address(ip: str, port: int, ipv6: bool) -> str:
    if ipv6:
        packed = socket.inet_pton(socket.AF_INET6, f"::ffff:{ip}")
        words = struct.unpack("=4I", packed)
    else:
        words = struct.unpack("=I", socket.inet_aton(ip))
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"
