"""The AWS federation endpoint (`https://<region>.signin.aws.amazon.com/federation`), as the
IAM guide "Enable custom identity broker access to the AWS console" describes it:

  GET /federation?Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}
      [&SessionDuration=900..43200]   -> 200 {"SigninToken": "..."} (valid 15 minutes)
  GET /federation?Action=login&Issuer=...&Destination=...&SigninToken=...
      -> the console (here: a small page naming the role's ARN, account and destination)

It signs in only with temporary credentials it issued, unexpired, with their own secret and
token. SessionDuration is refused for credentials from role chaining (AWS caps those console
sessions at one hour) and outside 900..43200. AWS answers a refusal with HTTP 400 and no
machine-readable reason; so does this (a short HTML page), and each refusal is recorded with
its reason for the tests (`Emulator.federation_refusals`).
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from . import ids
from .errors import ApiError
from .wire import Request, Response, json_response

if TYPE_CHECKING:
    from .core import Emulator

SIGNIN_TOKEN_LIFETIME = 900  # seconds: "The URL is valid for 15 minutes"
ACTIONS = {"getSigninToken": "GetSigninToken", "login": "ConsoleLogin"}


def api_of(req: Request) -> str | None:
    return ACTIONS.get(req.query.get("Action", ""))


def refuse(emu: Emulator, req: Request, reason: str) -> ApiError:
    emu.record_federation_refusal(req.query.get("Action", ""), reason)
    return ApiError("BadRequest", reason, 400)


def get_signin_token(emu: Emulator, req: Request) -> Response:
    try:
        session = json.loads(req.query.get("Session", ""))
    except ValueError:
        raise refuse(emu, req, "Session is not JSON") from None
    if not isinstance(session, dict) or not all(
        isinstance(session.get(key), str) for key in ("sessionId", "sessionKey", "sessionToken")
    ):
        raise refuse(emu, req, "Session lacks sessionId, sessionKey or sessionToken")
    cred = emu.credential(session["sessionId"])
    if cred is None or cred.session_token is None:
        raise refuse(emu, req, "not temporary credentials issued by AWS")
    if cred.secret_access_key != session["sessionKey"]:
        raise refuse(emu, req, "wrong sessionKey")
    if cred.session_token != session["sessionToken"]:
        raise refuse(emu, req, "wrong sessionToken")
    if cred.expiration is not None and cred.expiration <= emu.now():
        raise refuse(emu, req, "expired credentials")
    duration = None
    if "SessionDuration" in req.query:
        raw = req.query["SessionDuration"]
        if not raw.isdigit() or not 900 <= int(raw) <= 43200:
            raise refuse(emu, req, f"SessionDuration {raw!r} is not 900..43200")
        if cred.chained:
            raise refuse(emu, req, "SessionDuration with credentials from role chaining")
        duration = int(raw)
    token = emu.issue_signin_token(cred, duration, lifetime=SIGNIN_TOKEN_LIFETIME)
    return json_response({"SigninToken": token})


def login(emu: Emulator, req: Request) -> Response:
    destination = req.query.get("Destination", "")
    if not destination:
        raise refuse(emu, req, "no Destination")
    signin = emu.signin_token(req.query.get("SigninToken", ""))
    if signin is None:
        raise refuse(emu, req, "unknown or expired SigninToken")
    cred, duration = signin
    emu.record_console_sign_in(
        {
            "arn": cred.arn,
            "account_id": cred.account_id,
            "destination": destination,
            "issuer": req.query.get("Issuer", ""),
            "session_duration": duration,
        }
    )
    lines = [
        f"Role: {cred.arn}",
        f"Account: {cred.account_id}",
        f"Destination: {destination}",
    ]
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in lines)
    page = (
        "<!DOCTYPE html><html><head><title>AWS Management Console (emulator)</title></head>"
        f"<body><h1>AWS Management Console (emulator)</h1>\n{body}</body></html>\n"
    )
    return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def new_signin_token() -> str:
    return ids.opaque(nbytes=192)  # real ones are long opaque strings too
