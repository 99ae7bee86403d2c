"""HTTP layer: threaded server, request routing, latency and fault injection."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from . import federation, oidc, portal, sts
from .errors import FEDERATION, OIDC, PORTAL, STS, ApiError, encode_error
from .wire import HeaderDict, Request, Response

if TYPE_CHECKING:
    from .core import Emulator

Handler = Callable[["Emulator", Request], Response]

# (method, path) -> (API name, error protocol, handler)
ROUTES: dict[tuple[str, str], tuple[str, str, Handler]] = {
    ("POST", "/client/register"): ("RegisterClient", OIDC, oidc.register_client),
    ("POST", "/device_authorization"): (
        "StartDeviceAuthorization",
        OIDC,
        oidc.start_device_authorization,
    ),
    ("POST", "/token"): ("CreateToken", OIDC, oidc.create_token),
    ("GET", "/authorize"): ("Authorize", PORTAL, oidc.authorize),
    ("GET", "/device"): ("DeviceVisit", PORTAL, oidc.device_visit),
    ("GET", "/federation/credentials"): (
        "GetRoleCredentials",
        PORTAL,
        portal.get_role_credentials,
    ),
    ("GET", "/assignment/accounts"): ("ListAccounts", PORTAL, portal.list_accounts),
    ("GET", "/assignment/roles"): ("ListAccountRoles", PORTAL, portal.list_account_roles),
    ("POST", "/logout"): ("Logout", PORTAL, portal.logout),
}
FEDERATION_ACTIONS: dict[str, Handler] = {
    "GetSigninToken": federation.get_signin_token,
    "ConsoleLogin": federation.login,
}
STS_ACTIONS: dict[str, Handler] = {
    "AssumeRole": sts.assume_role,
    "GetCallerIdentity": sts.get_caller_identity,
}


def _unknown_action(emu: Emulator, req: Request) -> Response:
    raise ApiError("InvalidAction", f"Could not find operation {sts.action_of(req)!r}")


def _bad_federation_action(emu: Emulator, req: Request) -> Response:
    raise federation.refuse(emu, req, "unknown Action")


def _not_found(emu: Emulator, req: Request) -> Response:
    raise ApiError("UnknownOperationException", f"No route for {req.method} {req.path}", 404)


def resolve(req: Request) -> tuple[str | None, str, Handler]:
    """Map a request to (API name or None, error protocol, handler)."""
    if req.path == "/" and req.method == "POST":
        action = sts.action_of(req)
        if action in STS_ACTIONS:
            return action, STS, STS_ACTIONS[action]
        return None, STS, _unknown_action
    if req.path == "/federation" and req.method == "GET":
        api = federation.api_of(req)
        if api is None:
            return None, FEDERATION, _bad_federation_action
        return api, FEDERATION, FEDERATION_ACTIONS[api]
    route = ROUTES.get((req.method, req.path))
    if route is None:
        return None, PORTAL, _not_found
    return route


class RequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, every response carries Content-Length."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle, a keep-alive client's delayed ACK
    # would add ~40 ms to every answer (a real portal answers far faster)
    disable_nagle_algorithm = True
    server_version = "ssoexec-emulator/1.0"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def date_time_string(self, timestamp: float | None = None) -> str:
        emu = self.server.emulator
        return formatdate(emu.now() if timestamp is None else timestamp, usegmt=True)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_request(self) -> Request:
        body = self._read_body()
        parts = urlsplit(self.path)
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=HeaderDict(self.headers.items()),
            body=body,
            raw_path=self.path,
            request_id=str(uuid.uuid4()),
        )

    def _handle(self) -> None:
        emu = self.server.emulator
        try:
            req = self._read_request()
        except ValueError:
            self.close_connection = True
            self._send(Response(400, b'{"message": "Bad request"}'), "-")
            return
        api, protocol, handler = resolve(req)
        emu.record_request(api, req)
        if emu.latency > 0:
            time.sleep(emu.latency)
        fault = emu.take_fault(api) if api else None
        if fault == "drop":
            self.close_connection = True  # close without sending a single byte
            return
        try:
            if isinstance(fault, ApiError):
                raise fault
            resp = emu.handle(handler, req)
        except ApiError as err:
            headers, body = encode_error(err, protocol, req.request_id)
            resp = Response(err.status, body, headers)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            err = ApiError("InternalServerException", f"Emulator bug: {exc!r}", 500)
            headers, body = encode_error(err, protocol, req.request_id)
            resp = Response(500, body, headers)
        self._send(resp, req.request_id)

    def _send(self, resp: Response, request_id: str) -> None:
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class EmulatorServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its Emulator and can close live connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up (resets, broken pipes); report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open keep-alive connection (their threads then exit)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
