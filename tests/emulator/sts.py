"""STS query-protocol operations (AssumeRole, GetCallerIdentity) with SigV4 verification."""

from __future__ import annotations

import calendar
import hmac
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from . import ids
from .core import iso
from .errors import STS_NS, ApiError
from .wire import Request, Response

if TYPE_CHECKING:
    from .core import Emulator
    from .models import Credential

ACTIONS = ("AssumeRole", "GetCallerIdentity")
VERSION = "2011-06-15"

_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_ROLE_ARN_RE = re.compile(r"arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_SESSION_NAME_RE = re.compile(r"[\w+=,.@-]*")
_BAD_MFA = "MultiFactorAuthentication failed with invalid MFA one time pass code."
_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_CHAINING = (
    "The requested DurationSeconds exceeds the 1 hour session limit "
    "for roles assumed by role chaining."
)


def params(req: Request) -> dict[str, str]:
    """Query-protocol parameters: URL query plus the form-encoded body."""
    merged = dict(req.query)
    merged.update(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    return merged


def action_of(req: Request) -> str:
    return params(req).get("Action", "")


def _expected_signature(req: Request, secret: str, amz_date: str, region: str, signed: str) -> str:
    headers = {name: req.headers[name] for name in signed.split(";") if name in req.headers}
    url = f"http://{req.headers.get('host', '')}{req.raw_path}"
    aws_req = AWSRequest(method=req.method, url=url, headers=headers, data=req.body)
    aws_req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("unused", secret), "sts", region)
    canonical = signer.canonical_request(aws_req)
    return signer.signature(signer.string_to_sign(aws_req, canonical), aws_req)


def authenticate(emu: Emulator, req: Request) -> Credential:
    """Identify the caller from the SigV4 Authorization header; raise the STS error if invalid."""
    auth = req.headers.get("authorization")
    if not auth:
        raise ApiError("MissingAuthenticationToken", "Request is missing Authentication Token")
    m = _AUTH_RE.fullmatch(auth.strip())
    if not m:
        raise ApiError(
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        )
    cred = emu.credential(m["akid"])
    if cred is None or cred.session_token != req.headers.get("x-amz-security-token"):
        raise ApiError("InvalidClientTokenId", _INVALID_TOKEN)
    if cred.expiration is not None and cred.expiration <= emu.now():
        raise ApiError("ExpiredToken", "The security token included in the request is expired")
    if m["service"] != "sts":
        raise ApiError("SignatureDoesNotMatch", "Credential should be scoped to correct service.")
    amz_date = req.headers.get("x-amz-date") or ""
    if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or amz_date[:8] != m["date"]:
        raise ApiError("SignatureDoesNotMatch", "Credential scope date does not match X-Amz-Date")
    if emu.max_clock_skew is not None:
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        if abs(signed_at - emu.now()) > emu.max_clock_skew:
            raise ApiError("SignatureDoesNotMatch", f"Signature expired: {amz_date}")
    expected = _expected_signature(req, cred.secret_access_key, amz_date, m["region"], m["signed"])
    if not hmac.compare_digest(expected, m["signature"]):
        raise ApiError("SignatureDoesNotMatch", _BAD_SIGNATURE)
    return cred


def _xml(req: Request, action: str, result: str) -> Response:
    body = (
        f'<{action}Response xmlns="{STS_NS}">\n  <{action}Result>\n{result}  </{action}Result>\n'
        f"  <ResponseMetadata>\n    <RequestId>{req.request_id}</RequestId>\n"
        f"  </ResponseMetadata>\n</{action}Response>\n"
    )
    return Response(200, body.encode(), {"Content-Type": "text/xml"})


def _check_version(p: dict[str, str]) -> None:
    if p.get("Version") != VERSION:
        raise ApiError(
            "InvalidAction",
            f"Could not find operation {p.get('Action')} for version {p.get('Version')}",
        )


def get_caller_identity(emu: Emulator, req: Request) -> Response:
    """Action=GetCallerIdentity"""
    cred = authenticate(emu, req)
    _check_version(params(req))
    return _xml(
        req,
        "GetCallerIdentity",
        f"    <Arn>{escape(cred.arn)}</Arn>\n    <UserId>{escape(cred.user_id)}</UserId>\n"
        f"    <Account>{cred.account_id}</Account>\n",
    )


def _validation(field: str, value: str, constraint: str) -> ApiError:
    return ApiError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: Member must {constraint}",
    )


def _duration(p: dict[str, str]) -> int:
    raw = p.get("DurationSeconds")
    if raw is None:
        return 3600
    try:
        duration = int(raw)
    except ValueError:
        raise _validation("durationSeconds", raw, "be a number") from None
    if duration < 900:
        raise _validation("durationSeconds", raw, "have value greater than or equal to 900")
    if duration > 43200:
        raise _validation("durationSeconds", raw, "have value less than or equal to 43200")
    return duration


def _session_name(p: dict[str, str]) -> str:
    name = p.get("RoleSessionName")
    if name is None:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy "
            "constraint: Member must not be null",
        )
    if len(name) < 2:
        raise _validation("roleSessionName", name, "have length greater than or equal to 2")
    if len(name) > 64:
        raise _validation("roleSessionName", name, "have length less than or equal to 64")
    if not _SESSION_NAME_RE.fullmatch(name):
        raise _validation(
            "roleSessionName", name, r"satisfy regular expression pattern: [\w+=,.@-]*"
        )
    return name


def assume_role(emu: Emulator, req: Request) -> Response:
    """Action=AssumeRole"""
    caller = authenticate(emu, req)
    p = params(req)
    _check_version(p)
    role_arn = p.get("RoleArn", "")
    m = _ROLE_ARN_RE.fullmatch(role_arn)
    if not m:
        raise ApiError("ValidationError", f"{role_arn} is invalid")
    account_id, role_name = m.groups()
    session_name = _session_name(p)
    duration = _duration(p)
    if caller.kind in ("sso", "assumed") and "DurationSeconds" in p and duration > 3600:
        raise ApiError("ValidationError", _CHAINING)
    if duration > emu.role_max_session_duration.get(role_arn, 43200):
        raise ApiError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    denied = (
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    if role_arn in emu.external_ids and p.get("ExternalId") != emu.external_ids[role_arn]:
        raise ApiError("AccessDenied", denied)
    if role_arn in emu.mfa:
        serial, code = emu.mfa[role_arn]
        if p.get("SerialNumber") != serial or not p.get("TokenCode"):
            raise ApiError("AccessDenied", denied)
        if p.get("TokenCode") != code:
            raise ApiError("AccessDenied", _BAD_MFA)
    role_id = ids.stable_id("AROA", role_arn)
    cred = emu.new_session_credentials(
        kind="assumed",
        account_id=account_id,
        role_name=role_name,
        arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}",
        user_id=f"{role_id}:{session_name}",
        lifetime=min(int(emu.credential_lifetime), duration),
        chained=caller.kind in ("sso", "assumed"),
    )
    assert cred.expiration is not None
    return _xml(
        req,
        "AssumeRole",
        "    <AssumedRoleUser>\n"
        f"      <AssumedRoleId>{escape(cred.user_id)}</AssumedRoleId>\n"
        f"      <Arn>{escape(cred.arn)}</Arn>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        f"      <AccessKeyId>{cred.access_key_id}</AccessKeyId>\n"
        f"      <SecretAccessKey>{escape(cred.secret_access_key)}</SecretAccessKey>\n"
        f"      <SessionToken>{escape(cred.session_token or '')}</SessionToken>\n"
        f"      <Expiration>{iso(cred.expiration)}</Expiration>\n"
        "    </Credentials>\n",
    )
