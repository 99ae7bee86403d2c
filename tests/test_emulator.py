"""Tests of the AWS emulator (tests/emulator), driven by real boto3/botocore clients."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import boto3
import botocore
import botocore.exceptions
import botocore.loaders
import botocore.session
import pytest
from botocore.config import Config

from tests.emulator import Account, Emulator, organisation

START_URL = "https://d-1234567890.awsapps.com/start"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
UNSIGNED = Config(signature_version=botocore.UNSIGNED)
NO_VALIDATION = Config(parameter_validation=False)
REPO = Path(__file__).resolve().parents[1]
CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)


# --------------------------------------------------------------------------- fixtures/helpers


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A running emulator with the process environment pointing botocore at it."""
    for var in CLEARED_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with Emulator() as emulator:
        for key, value in emulator.endpoint_env().items():
            monkeypatch.setenv(key, value)
        yield emulator


# One loader for every session: each reads the environment afresh, but the service models
# and endpoint rules are parsed once per test process, not once per client.
LOADER = botocore.loaders.create_loader()


def new_session() -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", LOADER)
    return boto3.session.Session(botocore_session=core)


def oidc_client():
    return new_session().client("sso-oidc", config=UNSIGNED)


def sso_client():
    return new_session().client("sso", config=UNSIGNED)


def sts_client(key: str, secret: str, token: str | None = None, config: Config | None = None):
    return new_session().client(
        "sts",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=config,
    )


def sts_from(creds: dict, config: Config | None = None):
    """STS client from GetRoleCredentials' roleCredentials or AssumeRole's Credentials."""
    if "accessKeyId" in creds:
        return sts_client(
            creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"], config
        )
    return sts_client(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], config)


def code_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def status_of(excinfo: pytest.ExceptionInfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def register(oidc, **kwargs) -> dict:
    kwargs.setdefault("clientName", "botocore-client-test")
    kwargs.setdefault("clientType", "public")
    return oidc.register_client(**kwargs)


def create_device_token(oidc, reg: dict, device: dict) -> dict:
    return oidc.create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=device["deviceCode"],
    )


def start_device(oidc, reg: dict) -> dict:
    return oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )


def device_login(emu: Emulator, oidc) -> tuple[dict, dict]:
    """Full device flow with a scoped registration; returns (registration, token)."""
    reg = register(oidc, scopes=["sso:account:access"])
    device = start_device(oidc, reg)
    emu.approve_device(device["userCode"])
    return reg, create_device_token(oidc, reg, device)


def raw(
    emu: Emulator, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser_get(url: str) -> tuple[int, dict, bytes]:
    """GET like a browser would, but without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def parse_iso(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")[:64]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_url(emu: Emulator, client_id: str, redirect_uri: str, state: str, challenge: str):
    """The authorize URL exactly as the AWS CLI builds it (reference §3.4)."""
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge_method", "S256"),
        ("scopes", "sso:account:access"),
        ("code_challenge", challenge),
    ]
    return f"{emu.url}/authorize?{urlencode(params, quote_via=quote, safe='-._~')}"


def pkce_register(oidc) -> dict:
    return register(
        oidc,
        clientName="botocore-client-corp",
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=START_URL,
        scopes=["sso:account:access"],
    )


# --------------------------------------------------------------------------- OIDC: device flow


def test_register_client(emu: Emulator) -> None:
    before = int(time.time())
    reg = register(oidc_client())
    assert reg["clientId"] and reg["clientSecret"]
    assert before <= reg["clientIdIssuedAt"] <= time.time()
    assert reg["clientSecretExpiresAt"] == reg["clientIdIssuedAt"] + emu.registration_lifetime
    assert reg["clientSecret"] in emu.issued_secrets()
    assert emu.calls["RegisterClient"] == 1


def test_register_client_requires_name_and_type(emu: Emulator) -> None:
    status, headers, body = raw(
        emu, "POST", "/client/register", json.dumps({"clientName": "x"}).encode()
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidRequestException"
    assert json.loads(body)["error"] == "invalid_request"


def test_device_flow_pending_slow_down_then_approved_via_browser(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = register(oidc, scopes=["sso:account:access"])
    device = start_device(oidc, reg)
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", device["userCode"])
    assert device["verificationUri"] == f"{emu.url}/device"
    assert device["verificationUriComplete"] == f"{emu.url}/device?user_code={device['userCode']}"
    assert (device["expiresIn"], device["interval"]) == (600, 1)

    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as exc:
        create_device_token(oidc, reg, device)
    assert exc.value.response["error"] == "authorization_pending"
    assert status_of(exc) == 400

    emu.slow_down_polls = 2
    for interval in (1, 6):  # each poll on time, as the client waits (+5 s per SlowDown)
        emu.clock_offset += interval
        with pytest.raises(oidc.exceptions.SlowDownException):
            create_device_token(oidc, reg, device)
    emu.clock_offset += 11
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        create_device_token(oidc, reg, device)

    status, _, page = browser_get(device["verificationUriComplete"])
    assert status == 200 and b"approved" in page
    emu.clock_offset += 11
    token = create_device_token(oidc, reg, device)
    assert token["tokenType"] == "Bearer"
    assert token["expiresIn"] == 28800
    assert token["refreshToken"]  # the registration had scopes
    assert {token["accessToken"], token["refreshToken"]} <= set(emu.issued_secrets())

    with pytest.raises(oidc.exceptions.InvalidGrantException):  # device code consumed
        create_device_token(oidc, reg, device)
    assert emu.calls["CreateToken"] == 6
    assert emu.calls["DeviceVisit"] == 1


def test_device_poll_sooner_than_the_interval_is_told_to_slow_down(emu: Emulator) -> None:
    """RFC 8628 section 3.5: a poll sooner than the interval gets SlowDown, and each SlowDown
    adds 5 s to the interval expected from then on. Time passes on the emulator's clock (real
    time adds a little to each step; the margins are seconds wide)."""
    emu.device_interval = 5
    oidc = oidc_client()
    reg = register(oidc)
    device = start_device(oidc, reg)
    assert device["interval"] == 5
    steps = [0, 5, 15, 5, 20]  # seconds the clock moves before each poll after the first
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        create_device_token(oidc, reg, device)  # the first poll
    with pytest.raises(oidc.exceptions.SlowDownException):
        create_device_token(oidc, reg, device)  # at once: too soon; 10 s expected now
    emu.clock_offset += steps[1]
    with pytest.raises(oidc.exceptions.SlowDownException):
        create_device_token(oidc, reg, device)  # still too soon; 15 s expected now
    emu.clock_offset += steps[2]
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        create_device_token(oidc, reg, device)
    emu.approve_device(device["userCode"])
    emu.clock_offset += steps[3]
    with pytest.raises(oidc.exceptions.SlowDownException):
        create_device_token(oidc, reg, device)  # approved, but polled too soon; 20 s now
    emu.clock_offset += steps[4]
    assert create_device_token(oidc, reg, device)["accessToken"]

    polls = emu.device_polls(device["userCode"])
    assert len(polls) == 6
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert all(step <= gap < step + 5 for step, gap in zip(steps, gaps, strict=True)), gaps
    assert emu.device_polls() == polls  # the only device authorization


def test_device_flow_without_scopes_gives_no_refresh_token(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = register(oidc)
    device = start_device(oidc, reg)
    emu.approve_device(device["userCode"])
    token = create_device_token(oidc, reg, device)
    assert "refreshToken" not in token


@pytest.mark.parametrize("how", ["browser", "helper"])
def test_device_flow_denied(emu: Emulator, how: str) -> None:
    oidc = oidc_client()
    reg = register(oidc)
    device = start_device(oidc, reg)
    if how == "browser":
        emu.device_visit_behavior = "deny"
        status, _, _ = browser_get(device["verificationUriComplete"])
        assert status == 200
    else:
        emu.deny_device(device["userCode"])
    with pytest.raises(oidc.exceptions.AccessDeniedException):
        create_device_token(oidc, reg, device)


def test_device_visit_ignore_leaves_request_pending(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = register(oidc)
    device = start_device(oidc, reg)
    emu.device_visit_behavior = "ignore"
    assert browser_get(device["verificationUriComplete"])[0] == 200
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        create_device_token(oidc, reg, device)
    assert browser_get(f"{emu.url}/device?user_code=NOPE-NOPE")[0] == 400


def test_device_code_expires(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = register(oidc)
    device = start_device(oidc, reg)
    emu.clock_offset = device["expiresIn"] + 1
    with pytest.raises(oidc.exceptions.ExpiredTokenException):
        create_device_token(oidc, reg, device)


def test_oidc_client_and_grant_errors(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = register(oidc)
    with pytest.raises(oidc.exceptions.InvalidClientException) as exc:
        oidc.start_device_authorization(
            clientId=reg["clientId"], clientSecret="wrong", startUrl=START_URL
        )
    assert status_of(exc) == 401
    assert exc.value.response["error"] == "invalid_client"
    device = start_device(oidc, reg)
    with pytest.raises(oidc.exceptions.InvalidClientException):
        create_device_token(oidc, {**reg, "clientSecret": "wrong"}, device)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        create_device_token(oidc, reg, {"deviceCode": "unknown"})
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.create_token(
            clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="password"
        )
    emu.clock_offset = emu.registration_lifetime + 1  # registration expired
    with pytest.raises(oidc.exceptions.InvalidClientException):
        start_device(oidc, reg)


# --------------------------------------------------------------------------- OIDC: PKCE


def test_pkce_authorization_code_flow(emu: Emulator) -> None:
    oidc = oidc_client()
    reg = pkce_register(oidc)
    verifier, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:54321/oauth/callback"
    state = str(uuid.uuid4())
    status, headers, _ = browser_get(
        authorize_url(emu, reg["clientId"], redirect_uri, state, challenge)
    )
    assert status == 302
    location = urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == [state]
    code = query["code"][0]
    assert code in emu.issued_secrets()

    def exchange(**overrides):
        args = {
            "clientId": reg["clientId"],
            "clientSecret": reg["clientSecret"],
            "grantType": "authorization_code",
            "redirectUri": redirect_uri,
            "codeVerifier": verifier,
            "code": code,
        }
        return oidc.create_token(**{**args, **overrides})

    with pytest.raises(oidc.exceptions.InvalidGrantException):
        exchange(codeVerifier="B" * 64)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        exchange(redirectUri="http://127.0.0.1:1111/oauth/callback")
    token = exchange()
    assert token["accessToken"] and token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # single use
        exchange()
    accounts = sso_client().list_accounts(accessToken=token["accessToken"])["accountList"]
    assert len(accounts) == 3
    assert emu.calls["Authorize"] == 1


def test_pkce_challenge_vector() -> None:
    from tests.emulator.oidc import pkce_challenge

    assert pkce_challenge("A" * 64) == "1T7aemN8mcx_tWbZbp-hCb8VxHhBCj9etNTE4mzQgfY"
    # RFC 7636 Appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_authorize_deny_and_wrong_state(emu: Emulator) -> None:
    reg = pkce_register(oidc_client())
    _, challenge = pkce_pair()
    url = authorize_url(
        emu, reg["clientId"], "http://127.0.0.1:5000/oauth/callback", "s-1", challenge
    )
    emu.authorize_behavior = "deny"
    status, headers, _ = browser_get(url)
    assert status == 302
    assert parse_qs(urlsplit(headers["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["s-1"],
    }
    emu.authorize_behavior = "wrong_state"
    status, headers, _ = browser_get(url)
    query = parse_qs(urlsplit(headers["Location"]).query)
    assert status == 302 and query["code"] and query["state"] != ["s-1"]


def test_authorize_rejects_bad_requests(emu: Emulator) -> None:
    oidc = oidc_client()
    pkce = pkce_register(oidc)
    device_only = register(oidc)
    _, challenge = pkce_pair()
    good = "http://127.0.0.1:5000/oauth/callback"
    bad_urls = [
        authorize_url(emu, "unknown-client", good, "s", challenge),
        authorize_url(emu, device_only["clientId"], good, "s", challenge),
        authorize_url(emu, pkce["clientId"], "http://127.0.0.1/oauth/callback", "s", challenge),
        authorize_url(emu, pkce["clientId"], "http://evil.example:5000/oauth/callback", "s", "c"),
        authorize_url(emu, pkce["clientId"], good, "s", challenge).replace("S256", "plain"),
    ]
    for url in bad_urls:
        status, headers, body = browser_get(url)
        assert status == 400, url
        assert headers["Content-Type"].startswith("text/html") and b"<html>" in body


# --------------------------------------------------------------------------- OIDC: refresh


def test_refresh_token_rotation_and_revocation(emu: Emulator) -> None:
    oidc = oidc_client()
    reg, token = device_login(emu, oidc)

    def refresh(refresh_token: str, client: dict = reg) -> dict:
        return oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=refresh_token,
        )

    emu.token_lifetime = 1234
    new = refresh(token["refreshToken"])
    assert new["expiresIn"] == 1234
    assert new["accessToken"] != token["accessToken"]
    assert new["refreshToken"] != token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # rotated away
        refresh(token["refreshToken"])
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # another client's token
        refresh(new["refreshToken"], register(oidc))
    newer = refresh(new["refreshToken"])
    emu.revoke_refresh_tokens()
    with pytest.raises(oidc.exceptions.InvalidGrantException) as exc:
        refresh(newer["refreshToken"])
    assert exc.value.response["error"] == "invalid_grant"
    # access tokens stay valid
    assert sso_client().list_accounts(accessToken=newer["accessToken"])["accountList"]


# --------------------------------------------------------------------------- portal


def test_get_role_credentials(emu: Emulator) -> None:
    _, token = device_login(emu, oidc_client())
    emu.credential_lifetime = 1800
    creds = sso_client().get_role_credentials(
        accessToken=token["accessToken"], accountId="111111111111", roleName="Admin"
    )["roleCredentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["accessKeyId"])
    assert len(creds["secretAccessKey"]) == 40
    assert len(creds["sessionToken"]) > 100
    expiration_s = creds["expiration"] / 1000  # milliseconds on the wire
    assert time.time() + 1790 < expiration_s <= time.time() + 1800
    assert {creds["secretAccessKey"], creds["sessionToken"]} <= set(emu.issued_secrets())
    [issued] = emu.credentials_issued()
    assert issued["access_key_id"] == creds["accessKeyId"]
    assert issued["kind"] == "sso" and issued["role_name"] == "Admin"
    assert issued["account_id"] == "111111111111"
    assert issued["expiration"] == creds["expiration"] / 1000
    request = next(r for r in emu.requests if r["api"] == "GetRoleCredentials")
    assert request["method"] == "GET" and request["path"] == "/federation/credentials"
    assert request["headers"]["x-amz-sso_bearer_token"] == token["accessToken"]


def test_get_role_credentials_unauthorized_and_forbidden(emu: Emulator) -> None:
    sso = sso_client()
    with pytest.raises(sso.exceptions.UnauthorizedException) as exc:
        sso.get_role_credentials(accessToken="bogus", accountId="111111111111", roleName="Admin")
    assert status_of(exc) == 401
    assert exc.value.response["Error"]["Message"] == "Session token not found or invalid"

    _, token = device_login(emu, oidc_client())
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sso.get_role_credentials(
            accessToken=token["accessToken"], accountId="333333333333", roleName="Admin"
        )
    assert code_of(exc) == "ForbiddenException" and status_of(exc) == 403
    assert exc.value.response["Error"]["Message"] == "No access"

    emu.revoke(token["accessToken"])
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])

    expired = emu.issue_token(start_url=START_URL, expires_in=-60)
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=expired["accessToken"])


def test_paging_with_page_size(emu: Emulator) -> None:
    _, token = device_login(emu, oidc_client())
    sso = sso_client()
    emu.page_size = 1
    accounts = [
        a
        for page in sso.get_paginator("list_accounts").paginate(accessToken=token["accessToken"])
        for a in page["accountList"]
    ]
    assert accounts == [
        {
            "accountId": "111111111111",
            "accountName": "Dev Account",
            "emailAddress": "dev@example.com",
        },
        {
            "accountId": "222222222222",
            "accountName": "Prod Account",
            "emailAddress": "prod@example.com",
        },
        {
            "accountId": "333333333333",
            "accountName": "Sandbox",
            "emailAddress": "sandbox@example.com",
        },
    ]
    assert emu.calls["ListAccounts"] == 3
    roles = [
        r
        for page in sso.get_paginator("list_account_roles").paginate(
            accessToken=token["accessToken"], accountId="333333333333"
        )
        for r in page["roleList"]
    ]
    assert roles == [
        {"roleName": "Developer", "accountId": "333333333333"},
        {"roleName": "ReadOnly", "accountId": "333333333333"},
    ]
    assert emu.calls["ListAccountRoles"] == 2

    emu.page_size = None
    page = sso.list_accounts(accessToken=token["accessToken"], maxResults=2)
    assert len(page["accountList"]) == 2 and page["nextToken"]
    assert "nextToken" not in sso.list_accounts(accessToken=token["accessToken"])


def test_custom_accounts() -> None:
    accounts = [Account("444444444444", "Only", "only@example.com", ("Viewer",))]
    with Emulator(accounts) as emu:
        token = emu.issue_token(start_url=START_URL)
        status, _, body = raw(
            emu,
            "GET",
            "/assignment/roles?account_id=444444444444",
            headers={"x-amz-sso_bearer_token": token["accessToken"]},
        )
    assert status == 200
    assert json.loads(body) == {"roleList": [{"roleName": "Viewer", "accountId": "444444444444"}]}


def test_logout_ends_session(emu: Emulator) -> None:
    oidc = oidc_client()
    reg, token = device_login(emu, oidc)
    sso = sso_client()
    sso.logout(accessToken=token["accessToken"])
    assert emu.calls["Logout"] == 1
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType="refresh_token",
            refreshToken=token["refreshToken"],
        )


# --------------------------------------------------------------------------- STS


def sso_credentials(emu: Emulator, account: str = "111111111111", role: str = "Admin") -> dict:
    token = emu.issue_token(start_url=START_URL)
    return sso_client().get_role_credentials(
        accessToken=token["accessToken"], accountId=account, roleName=role
    )["roleCredentials"]


def test_get_caller_identity_with_sso_credentials(emu: Emulator) -> None:
    first = sts_from(sso_credentials(emu)).get_caller_identity()
    second = sts_from(sso_credentials(emu)).get_caller_identity()
    assert first["Account"] == "111111111111"
    assert re.fullmatch(
        r"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_[0-9a-f]{16}/emulator-user",
        first["Arn"],
    )
    assert first["Arn"] == second["Arn"]  # stable per account + role
    assert re.fullmatch(r"AROA[A-Z0-9]{17}:emulator-user", first["UserId"])
    request = next(r for r in emu.requests if r["api"] == "GetCallerIdentity")
    assert request["method"] == "POST" and "Action=GetCallerIdentity" in request["body"]


def test_static_user_assume_role_and_chained_identity(emu: Emulator) -> None:
    key, secret = emu.add_static_user("123456789012", "alice")
    assert key.startswith("AKIA") and secret in emu.issued_secrets()
    user = sts_client(key, secret)
    assert user.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/alice"
    # not role chaining: long durations allowed, lifetime = min(credential_lifetime, duration)
    emu.credential_lifetime = 10000
    result = user.assume_role(
        RoleArn="arn:aws:iam::222222222222:role/Target",
        RoleSessionName="ssoexec-test",
        DurationSeconds=7200,
    )
    assert result["AssumedRoleUser"] == {
        "AssumedRoleId": result["AssumedRoleUser"]["AssumedRoleId"],
        "Arn": "arn:aws:sts::222222222222:assumed-role/Target/ssoexec-test",
    }
    assert re.fullmatch(
        r"AROA[A-Z0-9]{17}:ssoexec-test", result["AssumedRoleUser"]["AssumedRoleId"]
    )
    remaining = result["Credentials"]["Expiration"].timestamp() - time.time()
    assert 7190 < remaining <= 7200
    identity = sts_from(result["Credentials"]).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::222222222222:assumed-role/Target/ssoexec-test"
    assert identity["Account"] == "222222222222"
    kinds = [c["kind"] for c in emu.credentials_issued()]
    assert kinds == ["user", "assumed"]


def test_sts_authentication_errors(emu: Emulator) -> None:
    creds = sso_credentials(emu)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts_from({**creds, "secretAccessKey": "x" * 40}).get_caller_identity()
    assert code_of(exc) == "SignatureDoesNotMatch" and status_of(exc) == 403
    assert exc.value.response["Error"]["Type"] == "Sender"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts_from({**creds, "accessKeyId": "ASIAUNKNOWNUNKNOWN12"}).get_caller_identity()
    assert code_of(exc) == "InvalidClientTokenId" and status_of(exc) == 403
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts_client(creds["accessKeyId"], creds["secretAccessKey"]).get_caller_identity()
    assert code_of(exc) == "InvalidClientTokenId"
    status, headers, body = raw(
        emu, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", {}
    )
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
    assert headers["Content-Type"] == "text/xml"


def test_sts_expired_credentials(emu: Emulator) -> None:
    emu.credential_lifetime = 900
    creds = sso_credentials(emu)
    emu.clock_offset = 901
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts_from(creds).get_caller_identity()
    assert code_of(exc) == "ExpiredToken" and status_of(exc) == 400
    assert (
        exc.value.response["Error"]["Message"]
        == "The security token included in the request is expired"
    )


def test_assume_role_external_id_and_mfa(emu: Emulator) -> None:
    sts = sts_from(sso_credentials(emu))
    ext_role = "arn:aws:iam::222222222222:role/WithExternalId"
    mfa_role = "arn:aws:iam::222222222222:role/WithMfa"
    emu.external_ids[ext_role] = "ext-123"
    emu.mfa[mfa_role] = ("arn:aws:iam::111111111111:mfa/alice", "123456")

    for kwargs in ({}, {"ExternalId": "ext-999"}):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sts.assume_role(RoleArn=ext_role, RoleSessionName="s1", **kwargs)
        assert code_of(exc) == "AccessDenied" and status_of(exc) == 403
    assert sts.assume_role(RoleArn=ext_role, RoleSessionName="s1", ExternalId="ext-123")

    serial = "arn:aws:iam::111111111111:mfa/alice"
    for kwargs in ({}, {"SerialNumber": serial, "TokenCode": "000000"}):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sts.assume_role(RoleArn=mfa_role, RoleSessionName="s2", **kwargs)
        assert code_of(exc) == "AccessDenied"
    assert sts.assume_role(
        RoleArn=mfa_role, RoleSessionName="s2", SerialNumber=serial, TokenCode="123456"
    )
    assert emu.calls["AssumeRole"] == 6


def test_assume_role_validation(emu: Emulator) -> None:
    creds = sso_credentials(emu)
    sts = sts_from(creds, NO_VALIDATION)
    role = "arn:aws:iam::222222222222:role/Target"

    def validation_error(**kwargs) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sts.assume_role(**{"RoleArn": role, "RoleSessionName": "ok-session", **kwargs})
        assert code_of(exc) == "ValidationError" and status_of(exc) == 400
        return exc.value.response["Error"]["Message"]

    assert validation_error(DurationSeconds=7200) == (
        "The requested DurationSeconds exceeds the 1 hour session limit "
        "for roles assumed by role chaining."
    )
    assert "900" in validation_error(DurationSeconds=899)
    assert "43200" in validation_error(DurationSeconds=43201)
    validation_error(RoleArn="arn:aws:iam::222222222222:user/NotARole")
    validation_error(RoleSessionName="x")
    validation_error(RoleSessionName="has space")
    emu.role_max_session_duration[role] = 1800
    assert "MaxSessionDuration" in validation_error(DurationSeconds=3600)

    emu.credential_lifetime = 3600
    result = sts.assume_role(RoleArn=role, RoleSessionName="short", DurationSeconds=900)
    remaining = result["Credentials"]["Expiration"].timestamp() - time.time()
    assert 890 < remaining <= 900


# --------------------------------------------------------------------------- faults & HTTP


def test_rate_limit_answers_the_portals_429_per_api(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    token = emu.issue_token(start_url=START_URL)["accessToken"]
    sso = sso_client()
    emu.rate_limit = 3
    for _ in range(3):
        sso.list_accounts(accessToken=token)
    with pytest.raises(sso.exceptions.TooManyRequestsException) as exc:
        sso.list_accounts(accessToken=token)
    assert status_of(exc) == 429
    assert exc.value.response["Error"]["Message"] == "Too many requests"
    assert emu.throttled == {"ListAccounts": 1}
    sso.list_account_roles(accessToken=token, accountId="111111111111")  # its own limit
    deadline = time.monotonic() + 5  # the second passes: answered again
    while True:
        try:
            sso.list_accounts(accessToken=token)
            break
        except sso.exceptions.TooManyRequestsException:
            assert time.monotonic() < deadline, "still throttled after the second"
    emu.rate_limit = None
    for _ in range(10):
        sso.list_accounts(accessToken=token)


def test_organisation_of_any_size(emu: Emulator) -> None:
    emu.accounts = organisation(250, 3)
    token = emu.issue_token(start_url=START_URL)["accessToken"]
    sso = sso_client()
    pages = sso.get_paginator("list_accounts").paginate(accessToken=token)
    ids = [a["accountId"] for page in pages for a in page["accountList"]]
    assert len(ids) == len(set(ids)) == 250
    assert all(re.fullmatch(r"\d{12}", i) for i in ids)
    roles = sso.list_account_roles(accessToken=token, accountId=ids[-1])["roleList"]
    assert [r["roleName"] for r in roles] == ["Role1", "Role2", "Role3"]


def test_faults_status_codes(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    token = emu.issue_token(start_url=START_URL)["accessToken"]
    sso, oidc = sso_client(), oidc_client()

    emu.fail("GetRoleCredentials", 429)
    with pytest.raises(sso.exceptions.TooManyRequestsException) as exc:
        sso.get_role_credentials(accessToken=token, accountId="111111111111", roleName="Admin")
    assert status_of(exc) == 429
    assert emu.calls["GetRoleCredentials"] == 1
    sso.get_role_credentials(accessToken=token, accountId="111111111111", roleName="Admin")
    assert emu.calls["GetRoleCredentials"] == 2

    emu.fail("RegisterClient", 500)
    with pytest.raises(oidc.exceptions.InternalServerException) as exc:
        register(oidc)
    assert status_of(exc) == 500 and exc.value.response["error"] == "internal_server"
    assert emu.calls["RegisterClient"] == 1

    emu.fail("ListAccounts", 403)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sso.list_accounts(accessToken=token)
    assert code_of(exc) == "ForbiddenException" and status_of(exc) == 403

    emu.fail("ListAccounts", 418, code="Teapot", message="short and stout", times=2)
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sso.list_accounts(accessToken=token)
        assert code_of(exc) == "Teapot" and status_of(exc) == 418
        assert exc.value.response["Error"]["Message"] == "short and stout"
    assert sso.list_accounts(accessToken=token)["accountList"]

    key, secret = emu.add_static_user("123456789012", "bob")
    emu.fail("GetCallerIdentity", 503)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sts_client(key, secret).get_caller_identity()
    assert code_of(exc) == "ServiceUnavailable" and status_of(exc) == 503
    assert exc.value.response["Error"]["Type"] == "Receiver"

    emu.fail("ListAccounts", 500, times=5)
    emu.clear_faults()
    assert sso.list_accounts(accessToken=token)["accountList"]
    with pytest.raises(ValueError):
        emu.fail("ListAccounts", "explode")
    with pytest.raises(ValueError):
        emu.fail("ListAcounts", 500)  # typo in the API name


def test_every_api_is_routed() -> None:
    from tests.emulator.core import API_NAMES
    from tests.emulator.server import FEDERATION_ACTIONS, ROUTES, STS_ACTIONS

    routed = {api for api, _, _ in ROUTES.values()} | set(STS_ACTIONS) | set(FEDERATION_ACTIONS)
    assert routed == API_NAMES


def test_fault_drop_closes_connection(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    key, secret = emu.add_static_user("123456789012", "carol")
    sts = sts_client(key, secret)
    sts.get_caller_identity()  # warm up a keep-alive connection
    emu.fail("GetCallerIdentity", "drop")
    with pytest.raises((botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        sts.get_caller_identity()
    assert sts.get_caller_identity()["Account"] == "123456789012"
    assert emu.calls["GetCallerIdentity"] == 3
    # not a single response byte is sent
    emu.fail("ListAccounts", "drop")
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"GET /assignment/accounts HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024) == b""
    assert emu.calls["ListAccounts"] == 1


def test_latency(emu: Emulator) -> None:
    token = emu.issue_token(start_url=START_URL)["accessToken"]
    sso = sso_client()
    sso.list_accounts(accessToken=token)
    emu.latency = 0.3
    started = time.monotonic()
    sso.list_accounts(accessToken=token)
    assert time.monotonic() - started >= 0.3


def test_http_basics(emu: Emulator) -> None:
    emu.clock_offset = 10 * 86400
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        for path in ("/nope", "/assignment/accounts"):  # two requests, one keep-alive connection
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.headers["Content-Length"] == str(len(body))
            assert resp.headers["x-amzn-RequestId"]
            assert resp.headers["Connection"] is None or resp.headers["Connection"] != "close"
        date = parsedate_to_datetime(resp.headers["Date"]).timestamp()
        assert abs(date - (time.time() + 10 * 86400)) < 60
    finally:
        conn.close()
    status, _, body = raw(emu, "DELETE", "/assignment/accounts")
    assert status == 404 and "message" in json.loads(body)
    assert [r["path"] for r in emu.requests] == ["/nope"] + ["/assignment/accounts"] * 2
    assert emu.requests[0]["api"] is None and emu.requests[1]["api"] == "ListAccounts"


def test_concurrent_requests(emu: Emulator) -> None:
    token = emu.issue_token(start_url=START_URL)["accessToken"]
    sso = sso_client()

    def fetch(_: int) -> str:
        return sso.get_role_credentials(
            accessToken=token, accountId="222222222222", roleName="ReadOnly"
        )["roleCredentials"]["accessKeyId"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(fetch, range(16)))
    assert len(set(keys)) == 16
    assert emu.calls["GetRoleCredentials"] == 16


def test_stop_is_idempotent_and_closes_connections() -> None:
    emu = Emulator().start()
    port = emu.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/assignment/accounts")
    conn.getresponse().read()
    emu.stop()
    emu.stop()
    with pytest.raises(OSError):
        conn.request("GET", "/assignment/accounts")
        conn.getresponse()
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()
    with pytest.raises(RuntimeError):
        _ = emu.url


# --------------------------------------------------------------------------- token cache


def test_issue_token_shape(emu: Emulator) -> None:
    token = emu.issue_token(start_url=START_URL, region="eu-west-1", expires_in=600)
    assert list(token) == [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    ]
    assert token["startUrl"] == START_URL and token["region"] == "eu-west-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["expiresAt"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["registrationExpiresAt"])
    expires = parse_iso(token["expiresAt"])
    assert time.time() + 590 < expires <= time.time() + 600
    assert "refreshToken" not in emu.issue_token(start_url=START_URL, refreshable=False)
    expired = emu.issue_token(start_url=START_URL, expires_in=-3600)
    assert parse_iso(expired["expiresAt"]) < time.time() - 3500


def test_write_token_cache_file(emu: Emulator, tmp_path: Path) -> None:
    path = emu.write_token_cache(tmp_path, "my-sso", start_url=START_URL)
    assert path == tmp_path / ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert list(data)[:4] == ["startUrl", "region", "accessToken", "expiresAt"]
    assert "refreshToken" in data
    legacy = emu.write_token_cache(
        tmp_path, "https://my-sso-portal.awsapps.com/start", start_url=START_URL
    )
    assert legacy.name == "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json"
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, legacy.name])


BOTOCORE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import boto3
    out = {}
    for profile in sys.argv[1:]:
        creds = boto3.Session(profile_name=profile).get_credentials().get_frozen_credentials()
        out[profile] = [creds.access_key, creds.secret_key, creds.token]
    print(json.dumps(out))
    """
)


def test_botocore_uses_written_token_cache(emu: Emulator, tmp_path: Path) -> None:
    """botocore (in a subprocess, as it reads HOME at import) gets credentials from the cache."""
    home = tmp_path / "home"
    config = tmp_path / "config"
    legacy_url = "https://d-9999999999.awsapps.com/start"
    config.write_text(
        textwrap.dedent(
            f"""
            [sso-session corp]
            sso_start_url = {START_URL}
            sso_region = us-east-1
            sso_registration_scopes = sso:account:access

            [profile dev]
            sso_session = corp
            sso_account_id = 111111111111
            sso_role_name = Admin
            region = eu-west-1

            [profile legacy]
            sso_start_url = {legacy_url}
            sso_region = us-east-1
            sso_account_id = 333333333333
            sso_role_name = Developer

            [profile chained]
            role_arn = arn:aws:iam::222222222222:role/Target
            source_profile = dev
            role_session_name = ssoexec-test
            external_id = ext-123
            region = eu-west-1
            """
        )
    )
    emu.external_ids["arn:aws:iam::222222222222:role/Target"] = "ext-123"
    # 5 minutes left: inside botocore's 15-minute window, so it refreshes first
    corp = emu.write_token_cache(home, "corp", start_url=START_URL, expires_in=300)
    old = json.loads(corp.read_text())
    emu.write_token_cache(home, legacy_url, start_url=legacy_url, refreshable=False)

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(emu.endpoint_env())
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1",
    )
    proc = subprocess.run(
        [sys.executable, "-c", BOTOCORE_SCRIPT, "dev", "legacy", "chained"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    issued = {c["access_key_id"]: c for c in emu.credentials_issued()}
    assert issued[got["dev"][0]]["account_id"] == "111111111111"
    assert issued[got["legacy"][0]]["role_name"] == "Developer"
    assert issued[got["chained"][0]]["kind"] == "assumed"
    for _key, secret, token in got.values():
        assert {secret, token} <= set(emu.issued_secrets())
    assert emu.calls["CreateToken"] == 1  # the refresh
    assert emu.calls["AssumeRole"] == 1
    new = json.loads(corp.read_text())
    assert new["accessToken"] != old["accessToken"]
    assert new["refreshToken"] != old["refreshToken"]
    assert new["clientId"] == old["clientId"]


# --------------------------------------------------------------------------- __main__


def test_main_runs_in_foreground(tmp_path: Path) -> None:
    port_file = tmp_path / "url"
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulator",
            "--port-file",
            str(port_file),
            "--seed-session",
            "corp",
            "--start-url",
            START_URL,
            "--home",
            str(home),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "emulator did not write its port file"
            time.sleep(0.05)
        url = port_file.read_text().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        seeded = (
            home
            / ".aws/sso/cache"
            / (hashlib.sha1(b"corp", usedforsecurity=False).hexdigest() + ".json")
        )
        token = json.loads(seeded.read_text())
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
        conn.request(
            "GET", "/assignment/accounts", headers={"x-amz-sso_bearer_token": token["accessToken"]}
        )
        resp = conn.getresponse()
        assert resp.status == 200 and len(json.loads(resp.read())["accountList"]) == 3
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert f"emulator listening on {url}" in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
