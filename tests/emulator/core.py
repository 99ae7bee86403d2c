"""The Emulator: knobs, state and the test-facing API. Wire handling lives in server.py; the
protocol modules (oidc, portal, sts, server) reach the state only through public methods."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import ids
from .errors import FAULT_KINDS, ApiError
from .models import (
    DEFAULT_ACCOUNTS,
    AccessToken,
    Account,
    AuthCode,
    Client,
    Credential,
    DeviceAuth,
    RefreshToken,
    Session,
)
from .wire import Request

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTH_CODE_LIFETIME = 600
API_NAMES = frozenset(
    {
        "RegisterClient",
        "StartDeviceAuthorization",
        "CreateToken",
        "Authorize",
        "DeviceVisit",
        "GetRoleCredentials",
        "ListAccounts",
        "ListAccountRoles",
        "Logout",
        "AssumeRole",
        "GetCallerIdentity",
        "GetSigninToken",
        "ConsoleLogin",
    }
)


def iso(epoch: float) -> str:
    """Epoch seconds -> '%Y-%m-%dT%H:%M:%SZ' (UTC)."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime(ISO_FORMAT)


class Emulator:
    """Local emulator of the AWS SSO portal, SSO-OIDC and STS APIs on one loopback port."""

    user_name = "emulator-user"

    def __init__(self, accounts: list[Account] | None = None) -> None:
        self.accounts: list[Account] = list(DEFAULT_ACCOUNTS if accounts is None else accounts)
        # knobs
        self.latency: float = 0.0
        self.clock_offset: float = 0.0
        self.token_lifetime: int = 28800
        self.access_token_bytes: int = 64  # random bytes in each access token minted
        self.credential_lifetime: int = 3600
        self.registration_lifetime: int = 7776000
        self.page_size: int | None = None
        # at most this many calls a second per API (a sliding second); above it, the portal's
        # 429 TooManyRequestsException (None: no limit)
        self.rate_limit: float | None = None
        self.device_expires_in: int = 600
        self.device_interval: int = 1
        self.authorize_behavior: str = "approve"
        self.device_visit_behavior: str = "approve"
        self.slow_down_polls: int = 0
        self.external_ids: dict[str, str] = {}
        self.mfa: dict[str, tuple[str, str]] = {}
        self.role_max_session_duration: dict[str, int] = {}
        self.max_clock_skew: float | None = None
        # observation
        self.calls: collections.Counter[str] = collections.Counter()
        self.throttled: collections.Counter[str] = collections.Counter()  # 429s per API
        self.requests: list[dict] = []
        # state
        self._lock = threading.RLock()
        self._faults: dict[str, list[ApiError | str]] = {}
        self._answered: dict[str, collections.deque[float]] = {}  # per API, for rate_limit
        self._secrets: list[str] = []
        self._clients: dict[str, Client] = {}
        self._devices: dict[str, DeviceAuth] = {}
        self._auth_codes: dict[str, AuthCode] = {}
        self._sessions = 0
        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._credentials: dict[str, Credential] = {}
        # federation: sign-in token -> (credentials, SessionDuration, expires at)
        self._signin_tokens: dict[str, tuple[Credential, int | None, float]] = {}
        self._console_sign_ins: list[dict] = []
        self._federation_refusals: list[tuple[str, str]] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> Emulator:
        """Bind 127.0.0.1:port (0 = ephemeral) and serve in a daemon thread."""
        from .server import EmulatorServer

        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = EmulatorServer(("127.0.0.1", port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and open connections. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint_env(self) -> dict[str, str]:
        """Environment variables that point botocore's sso, sso-oidc, sts and signin (the
        console's federation endpoint) clients here."""
        return {
            "AWS_ENDPOINT_URL_SSO": self.url,
            "AWS_ENDPOINT_URL_SSO_OIDC": self.url,
            "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_ENDPOINT_URL_SIGNIN": self.url,
        }

    def now(self) -> float:
        """The emulator's clock: time.time() + clock_offset."""
        return time.time() + self.clock_offset

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        api: str,
        kind: int | str,
        *,
        times: int = 1,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next `times` requests to `api` fail (HTTP status kind, or "drop")."""
        if api not in API_NAMES:
            raise ValueError(f"unknown API {api!r}; expected one of {sorted(API_NAMES)}")
        fault: ApiError | str
        if kind == "drop":
            fault = "drop"
        elif isinstance(kind, int):
            default_code, default_message = FAULT_KINDS.get(kind, (f"Http{kind}Error", ""))
            fault = ApiError(
                code or default_code,
                message if message is not None else default_message or f"Injected {kind}",
                status=kind,
            )
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.setdefault(api, []).extend([fault] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, api: str) -> ApiError | str | None:
        with self._lock:
            queue = self._faults.get(api)
            if queue:
                return queue.pop(0)
            return self._over_rate(api)

    def _over_rate(self, api: str) -> ApiError | None:
        """The 429 for a call above rate_limit calls in the last second; only the calls let
        through count toward the limit."""
        if not self.rate_limit:
            return None
        now = time.monotonic()
        window = self._answered.setdefault(api, collections.deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rate_limit:
            self.throttled[api] += 1
            code, message = FAULT_KINDS[429]
            return ApiError(code, message, status=429)
        window.append(now)
        return None

    def handle(self, handler: Callable[[Emulator, Request], Any], req: Request) -> Any:
        """Run one protocol handler on the emulator's state, under its lock."""
        with self._lock:
            return handler(self, req)

    def record_request(self, api: str | None, req: Request) -> None:
        with self._lock:
            if api is not None:
                self.calls[api] += 1
            self.requests.append(
                {
                    "api": api,
                    "method": req.method,
                    "path": req.path,
                    "query": dict(req.query),
                    "headers": req.headers,
                    "body": req.body.decode("utf-8", "replace"),
                }
            )

    # ------------------------------------------------------------------ secrets & records

    def remember_secret(self, value: str) -> str:
        """Note a secret value handed out (see issued_secrets); returns it."""
        self._secrets.append(value)
        return value

    def issued_secrets(self) -> list[str]:
        """Every secret value handed out so far."""
        with self._lock:
            return list(self._secrets)

    def credential_secrets(self) -> list[str]:
        """The secret keys and session tokens of the role credentials handed out (never the
        static user keys a test wrote into a config itself): what must never reach a disk."""
        with self._lock:
            return [
                secret
                for c in self._credentials.values()
                if c.kind != "user"
                for secret in (c.secret_access_key, c.session_token)
                if secret
            ] + list(self._signin_tokens)  # console sign-in tokens: bearer credentials too

    def credentials_issued(self) -> list[dict]:
        """All credentials handed out (and static user keys), oldest first."""
        with self._lock:
            return [c.public() for c in self._credentials.values()]

    # ------------------------------------------------------------------ OIDC state

    def register_client(
        self,
        name: str,
        client_type: str = "public",
        scopes: list[str] | None = None,
        grant_types: list[str] | None = None,
        redirect_uris: list[str] | None = None,
        issuer_url: str | None = None,
    ) -> Client:
        now = int(self.now())
        client = Client(
            client_id=ids.opaque(nbytes=16),
            client_secret=self.remember_secret(ids.opaque("eyJraWQiOiJrZXkt", 96)),
            name=name,
            client_type=client_type,
            issued_at=now,
            expires_at=now + int(self.registration_lifetime),
            scopes=list(scopes or []),
            grant_types=list(grant_types or []),
            redirect_uris=list(redirect_uris or []),
            issuer_url=issuer_url,
        )
        self._clients[client.client_id] = client
        return client

    def check_client(self, client_id: Any, client_secret: Any) -> Client:
        client = self._clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or client.client_secret != client_secret:
            raise ApiError("InvalidClientException", "Invalid client credentials")
        if client.expires_at <= self.now():
            raise ApiError("InvalidClientException", "Client registration has expired")
        return client

    def new_session(self, client_id: str, start_url: str, scopes: list[str]) -> Session:
        self._sessions += 1
        return Session(self._sessions, client_id, start_url, list(scopes))

    def mint_tokens(
        self, session: Session, *, refreshable: bool, expires_in: int | None = None
    ) -> tuple[AccessToken, RefreshToken | None, int]:
        lifetime = int(self.token_lifetime if expires_in is None else expires_in)
        access = AccessToken(
            self.remember_secret(ids.opaque("aoa", self.access_token_bytes)),
            session,
            self.now() + lifetime,
        )
        self._access_tokens[access.token] = access
        refresh = None
        if refreshable:
            refresh = RefreshToken(self.remember_secret(ids.opaque("aor", 96)), session)
            self._refresh_tokens[refresh.token] = refresh
        return access, refresh, lifetime

    def client(self, client_id: str) -> Client | None:
        """The registration with this client id, if any."""
        return self._clients.get(client_id)

    def start_device(self, client: Client, start_url: str) -> DeviceAuth:
        """A new pending device authorization with a user code of its own."""
        existing = {d.user_code for d in self._devices.values()}
        user_code = ids.user_code()
        while user_code in existing:
            user_code = ids.user_code()
        device = DeviceAuth(
            device_code=self.remember_secret(ids.opaque(nbytes=64)),
            user_code=user_code,
            client_id=client.client_id,
            start_url=start_url,
            expires_at=self.now() + int(self.device_expires_in),
            interval=int(self.device_interval),
        )
        self._devices[device.device_code] = device
        return device

    def device(self, device_code: str) -> DeviceAuth | None:
        """The device authorization with this device code, if any."""
        return self._devices.get(device_code)

    def poll_too_soon(self, device: DeviceAuth) -> bool:
        """Record a poll of `device` (CreateToken with its device code); True when it must be
        told to slow down: while `slow_down_polls` lasts, or when it comes sooner than the
        interval after the previous poll. Each SlowDown adds 5 s to the interval the device
        expects from then on (RFC 8628 section 3.5)."""
        now = self.now()
        early = bool(device.polls) and now - device.polls[-1] < device.interval
        device.polls.append(now)
        forced = self.slow_down_polls > 0
        if forced:
            self.slow_down_polls -= 1
        if forced or early:
            device.interval += 5
            return True
        return False

    def device_polls(self, user_code: str | None = None) -> list[float]:
        """The times (emulator clock) of each poll of a device authorization: the one with
        this user code, or the only one there is."""
        with self._lock:
            if user_code is not None:
                return list(self.device_by_user_code(user_code).polls)
            [device] = self._devices.values()
            return list(device.polls)

    def refresh_token(self, token: str) -> RefreshToken | None:
        """The refresh token with this value, if any (valid or not)."""
        return self._refresh_tokens.get(token)

    def issue_auth_code(
        self, client_id: str, redirect_uri: str, code_challenge: str, scopes: list[str]
    ) -> AuthCode:
        """A new authorization code (PKCE), valid for AUTH_CODE_LIFETIME seconds."""
        code = AuthCode(
            code=self.remember_secret(ids.opaque(nbytes=32)),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            scopes=scopes,
            expires_at=self.now() + AUTH_CODE_LIFETIME,
        )
        self._auth_codes[code.code] = code
        return code

    def auth_code(self, code: str) -> AuthCode | None:
        """The authorization code with this value, if any (used or not)."""
        return self._auth_codes.get(code)

    def device_by_user_code(self, user_code: str) -> DeviceAuth:
        for device in self._devices.values():
            if device.user_code == user_code:
                return device
        raise KeyError(user_code)

    def valid_access_token(self, token: str | None) -> AccessToken:
        access = self._access_tokens.get(token or "")
        if (
            access is None
            or access.revoked
            or access.session.revoked
            or access.expires_at <= self.now()
        ):
            raise ApiError("UnauthorizedException", "Session token not found or invalid")
        return access

    # ------------------------------------------------------------------ credentials

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)

    def credential(self, access_key_id: str) -> Credential | None:
        """The credentials (or static user key) with this access key id, if any."""
        return self._credentials.get(access_key_id)

    def new_session_credentials(
        self,
        *,
        kind: str,
        account_id: str,
        role_name: str,
        arn: str,
        user_id: str,
        lifetime: int,
        chained: bool = False,
    ) -> Credential:
        cred = Credential(
            access_key_id=ids.access_key_id("ASIA"),
            secret_access_key=self.remember_secret(ids.secret_access_key()),
            session_token=self.remember_secret(ids.session_token()),
            account_id=account_id,
            arn=arn,
            user_id=user_id,
            kind=kind,
            role_name=role_name,
            expiration=float(int(self.now() + lifetime)),
            chained=chained,
        )
        self._credentials[cred.access_key_id] = cred
        return cred

    # ------------------------------------------------------------------ console federation

    def issue_signin_token(self, cred: Credential, duration: int | None, *, lifetime: int) -> str:
        from .federation import new_signin_token

        token = self.remember_secret(new_signin_token())
        self._signin_tokens[token] = (cred, duration, self.now() + lifetime)
        return token

    def signin_token(self, token: str) -> tuple[Credential, int | None] | None:
        """The credentials and SessionDuration behind a sign-in token still valid, if any."""
        found = self._signin_tokens.get(token)
        if found is None or found[2] <= self.now():
            return None
        return found[0], found[1]

    def record_console_sign_in(self, sign_in: dict) -> None:
        self._console_sign_ins.append(sign_in)

    def record_federation_refusal(self, action: str, reason: str) -> None:
        self._federation_refusals.append((action, reason))

    def console_sign_ins(self) -> list[dict]:
        """Every console sign-in (Action=login) so far: arn, account_id, destination, issuer,
        session_duration; oldest first."""
        with self._lock:
            return [dict(s) for s in self._console_sign_ins]

    def federation_refusals(self) -> list[tuple[str, str]]:
        """(Action, reason) of every request the federation endpoint refused with its 400."""
        with self._lock:
            return list(self._federation_refusals)

    def sso_role_credentials(self, account_id: str, role_name: str) -> Credential:
        reserved = f"AWSReservedSSO_{role_name}_{ids.stable_hex(account_id, role_name)}"
        role_id = ids.stable_id("AROA", account_id, reserved)
        return self.new_session_credentials(
            kind="sso",
            account_id=account_id,
            role_name=role_name,
            arn=f"arn:aws:sts::{account_id}:assumed-role/{reserved}/{self.user_name}",
            user_id=f"{role_id}:{self.user_name}",
            lifetime=int(self.credential_lifetime),
        )

    # ------------------------------------------------------------------ test helpers

    def issue_token(
        self,
        *,
        start_url: str,
        region: str = "us-east-1",
        expires_in: int | None = None,
        refreshable: bool = True,
        scopes: tuple[str, ...] = ("sso:account:access",),
    ) -> dict:
        """Register a client, mint a token and return it as the AWS CLI token-cache dict."""
        with self._lock:
            client = self.register_client(
                f"botocore-client-{int(self.now())}", scopes=list(scopes), issuer_url=start_url
            )
            session = self.new_session(client.client_id, start_url, list(scopes))
            access, refresh, _ = self.mint_tokens(
                session, refreshable=refreshable, expires_in=expires_in
            )
        token = {
            "startUrl": start_url,
            "region": region,
            "accessToken": access.token,
            "expiresAt": iso(access.expires_at),
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "registrationExpiresAt": iso(client.expires_at),
        }
        if refresh is not None:
            token["refreshToken"] = refresh.token
        return token

    def write_token_cache(
        self, home: str | Path, cache_key: str, **issue_token_kwargs: Any
    ) -> Path:
        """Write issue_token(...) to <home>/.aws/sso/cache/<sha1(cache_key)>.json (mode 0600)."""
        token = self.issue_token(**issue_token_kwargs)
        cache_dir = Path(home) / ".aws" / "sso" / "cache"
        cache_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(cache_key.encode("utf-8"), usedforsecurity=False).hexdigest()
        path = cache_dir / f"{name}.json"
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(token, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def approve_device(self, user_code: str) -> None:
        """Approve a pending device authorization (as the user would in the browser)."""
        with self._lock:
            device = self.device_by_user_code(user_code)
            if device.status == "pending":
                device.status = "approved"

    def deny_device(self, user_code: str) -> None:
        with self._lock:
            device = self.device_by_user_code(user_code)
            if device.status == "pending":
                device.status = "denied"

    def revoke(self, access_token: str) -> None:
        """Invalidate one access token (the portal then answers 401)."""
        with self._lock:
            access = self._access_tokens.get(access_token)
            if access is None:
                raise KeyError("unknown access token")
            access.revoked = True

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every refresh token issued so far."""
        with self._lock:
            for refresh in self._refresh_tokens.values():
                refresh.valid = False

    def add_static_user(self, account_id: str, user_name: str) -> tuple[str, str]:
        """Create a long-lived IAM user access key; returns (access key id, secret)."""
        with self._lock:
            cred = Credential(
                access_key_id=ids.access_key_id("AKIA"),
                secret_access_key=self.remember_secret(ids.secret_access_key()),
                session_token=None,
                account_id=account_id,
                arn=f"arn:aws:iam::{account_id}:user/{user_name}",
                user_id=ids.stable_id("AIDA", account_id, user_name),
                kind="user",
                role_name=None,
                expiration=None,
            )
            self._credentials[cred.access_key_id] = cred
            return cred.access_key_id, cred.secret_access_key
