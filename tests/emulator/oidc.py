"""SSO-OIDC operations (RegisterClient, StartDeviceAuthorization, CreateToken) and the
browser-facing pages GET /authorize (PKCE) and GET /device (device approval)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from .core import DEVICE_GRANT
from .errors import ApiError
from .models import Client
from .wire import Request, Response, html_response, json_response

if TYPE_CHECKING:
    from .core import Emulator

KNOWN_GRANTS = {DEVICE_GRANT, "refresh_token", "authorization_code"}


def _body(req: Request) -> dict:
    try:
        return req.json()
    except ValueError:
        raise ApiError("InvalidRequestException", "Malformed JSON request body") from None


def _str_list(body: dict, key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("InvalidRequestException", f"{key} must be a list of strings")
    return value


def _required(body: dict, *keys: str) -> None:
    missing = [k for k in keys if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        raise ApiError("InvalidRequestException", f"Missing required parameter(s): {missing}")


def _loopback_callback(uri: Any) -> bool:
    """True for http://127.0.0.1:<port>/oauth/callback (any port)."""
    if not isinstance(uri, str):
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname == "127.0.0.1"
        and port is not None
        and parts.path == "/oauth/callback"
    )


def _redirect_registered(client: Client, uri: str) -> bool:
    target = urlsplit(uri)
    for registered in client.redirect_uris:
        parts = urlsplit(registered)
        if (parts.scheme, parts.hostname, parts.path) == (
            target.scheme,
            target.hostname,
            target.path,
        ):
            return True
    return False


def register_client(emu: Emulator, req: Request) -> Response:
    """POST /client/register"""
    body = _body(req)
    _required(body, "clientName", "clientType")
    if body["clientType"] != "public":
        raise ApiError("InvalidClientMetadataException", "Invalid client type")
    grants = _str_list(body, "grantTypes")
    unknown = sorted(set(grants) - KNOWN_GRANTS)
    if unknown:
        raise ApiError("InvalidClientMetadataException", f"Unsupported grant types: {unknown}")
    redirect_uris = _str_list(body, "redirectUris")
    for uri in redirect_uris:
        if urlsplit(uri).hostname != "127.0.0.1" or not uri.startswith("http://"):
            raise ApiError("InvalidRedirectUriException", f"Invalid redirect URI: {uri}")
    if "authorization_code" in grants and not redirect_uris:
        raise ApiError("InvalidRedirectUriException", "authorization_code needs redirectUris")
    issuer = body.get("issuerUrl")
    client = emu.register_client(
        body["clientName"],
        body["clientType"],
        scopes=_str_list(body, "scopes"),
        grant_types=grants,
        redirect_uris=redirect_uris,
        issuer_url=issuer if isinstance(issuer, str) else None,
    )
    return json_response(
        {
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "clientIdIssuedAt": client.issued_at,
            "clientSecretExpiresAt": client.expires_at,
        }
    )


def start_device_authorization(emu: Emulator, req: Request) -> Response:
    """POST /device_authorization"""
    body = _body(req)
    client = emu.check_client(body.get("clientId"), body.get("clientSecret"))
    _required(body, "startUrl")
    device = emu.start_device(client, body["startUrl"])
    return json_response(
        {
            "deviceCode": device.device_code,
            "userCode": device.user_code,
            "verificationUri": f"{emu.url}/device",
            "verificationUriComplete": f"{emu.url}/device?user_code={device.user_code}",
            "expiresIn": int(emu.device_expires_in),
            "interval": device.interval,
        }
    )


def _token_response(emu: Emulator, client: Client, session: Any, refreshable: bool) -> Response:
    access, refresh, lifetime = emu.mint_tokens(session, refreshable=refreshable)
    payload: dict[str, Any] = {
        "accessToken": access.token,
        "tokenType": "Bearer",
        "expiresIn": lifetime,
    }
    if refresh is not None:
        payload["refreshToken"] = refresh.token
    return json_response(payload)


def _device_grant(emu: Emulator, client: Client, body: dict) -> Response:
    device = emu.device(body.get("deviceCode") or "")
    if device is None or device.client_id != client.client_id or device.status == "consumed":
        raise ApiError("InvalidGrantException", "Invalid device code provided")
    if device.expires_at <= emu.now():
        raise ApiError("ExpiredTokenException", "Device code has expired")
    if emu.poll_too_soon(device):
        raise ApiError("SlowDownException", "Client is polling too quickly")
    if device.status == "denied":
        raise ApiError("AccessDeniedException", "Access denied by the user")
    if device.status == "pending":
        raise ApiError("AuthorizationPendingException", "Authorization is still pending")
    device.status = "consumed"
    session = emu.new_session(client.client_id, device.start_url, client.scopes)
    return _token_response(emu, client, session, refreshable=bool(client.scopes))


def _refresh_grant(emu: Emulator, client: Client, body: dict) -> Response:
    refresh = emu.refresh_token(body.get("refreshToken") or "")
    if (
        refresh is None
        or not refresh.valid
        or refresh.session.revoked
        or refresh.session.client_id != client.client_id
    ):
        raise ApiError("InvalidGrantException", "Invalid refresh token provided")
    refresh.valid = False  # rotation: a refresh token is single-use
    return _token_response(emu, client, refresh.session, refreshable=True)


def pkce_challenge(verifier: str) -> str:
    """base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _code_grant(emu: Emulator, client: Client, body: dict) -> Response:
    code = emu.auth_code(body.get("code") or "")
    if (
        code is None
        or code.client_id != client.client_id
        or code.used
        or code.expires_at <= emu.now()
    ):
        raise ApiError("InvalidGrantException", "Invalid authorization code provided")
    if body.get("redirectUri") != code.redirect_uri:
        raise ApiError("InvalidGrantException", "Invalid redirect URI")
    verifier = body.get("codeVerifier")
    if not isinstance(verifier, str) or not hmac.compare_digest(
        pkce_challenge(verifier), code.code_challenge
    ):
        raise ApiError("InvalidGrantException", "Invalid code verifier")
    code.used = True
    start_url = client.issuer_url or ""
    session = emu.new_session(client.client_id, start_url, code.scopes or client.scopes)
    return _token_response(emu, client, session, refreshable=True)


def create_token(emu: Emulator, req: Request) -> Response:
    """POST /token"""
    body = _body(req)
    client = emu.check_client(body.get("clientId"), body.get("clientSecret"))
    grant = body.get("grantType")
    if grant == DEVICE_GRANT:
        return _device_grant(emu, client, body)
    if grant == "refresh_token":
        return _refresh_grant(emu, client, body)
    if grant == "authorization_code":
        return _code_grant(emu, client, body)
    raise ApiError("UnsupportedGrantTypeException", f"Unsupported grant type: {grant}")


def _authorize_problem(emu: Emulator, q: dict[str, str]) -> str | None:
    client = emu.client(q.get("client_id", ""))
    if q.get("response_type") != "code":
        return "response_type must be 'code'"
    if client is None:
        return "Unknown client_id"
    if "authorization_code" not in client.grant_types:
        return "Client is not registered for the authorization_code grant"
    redirect_uri = q.get("redirect_uri", "")
    if not _loopback_callback(redirect_uri) or not _redirect_registered(client, redirect_uri):
        return "Invalid redirect_uri"
    if not q.get("state"):
        return "Missing state"
    if q.get("code_challenge_method") != "S256":
        return "code_challenge_method must be S256"
    if not q.get("code_challenge"):
        return "Missing code_challenge"
    return None


def authorize(emu: Emulator, req: Request) -> Response:
    """GET /authorize: the page a browser opens in the PKCE flow; answers with a 302."""
    q = req.query
    problem = _authorize_problem(emu, q)
    if problem:
        return html_response("Invalid authorization request", problem, 400)
    behavior = emu.authorize_behavior
    if behavior == "deny":
        params = {"error": "access_denied", "state": q["state"]}
    elif behavior in ("approve", "wrong_state"):
        code = emu.issue_auth_code(
            q["client_id"], q["redirect_uri"], q["code_challenge"], q.get("scopes", "").split()
        )
        state = q["state"] if behavior == "approve" else f"wrong-{uuid.uuid4()}"
        params = {"code": code.code, "state": state}
    else:
        return html_response("Emulator misconfigured", f"authorize_behavior={behavior!r}", 500)
    sep = "&" if "?" in q["redirect_uri"] else "?"
    location = q["redirect_uri"] + sep + urlencode(params)
    return Response(302, b"", {"Location": location})


def device_visit(emu: Emulator, req: Request) -> Response:
    """GET /device[?user_code=...]: the device-approval page."""
    user_code = req.query.get("user_code")
    if not user_code:
        return html_response("Authorize request", "Enter the code shown by your application.")
    try:
        device = emu.device_by_user_code(user_code)
    except KeyError:
        return html_response("Invalid code", f"Unknown user code {user_code}", 400)
    if device.expires_at <= emu.now():
        return html_response("Code expired", "This authorization request has expired.", 400)
    behavior = emu.device_visit_behavior
    if device.status == "pending":
        if behavior == "approve":
            device.status = "approved"
        elif behavior == "deny":
            device.status = "denied"
    titles = {"approved": "Request approved", "denied": "Request denied"}
    title = titles.get(device.status, "Authorize request")
    return html_response(title, f"Code {user_code}: {device.status}.")
