"""SSO portal operations: GetRoleCredentials, ListAccounts, ListAccountRoles, Logout."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from .errors import ApiError
from .wire import Request, Response, json_response

if TYPE_CHECKING:
    from .core import Emulator
    from .models import AccessToken

BEARER = "x-amz-sso_bearer_token"


def _token(emu: Emulator, req: Request) -> AccessToken:
    return emu.valid_access_token(req.headers.get(BEARER))


def get_role_credentials(emu: Emulator, req: Request) -> Response:
    """GET /federation/credentials?role_name=&account_id="""
    _token(emu, req)
    role_name, account_id = req.query.get("role_name"), req.query.get("account_id")
    if not role_name or not account_id:
        raise ApiError("InvalidRequestException", "role_name and account_id are required")
    account = emu.account(account_id)
    if account is None or role_name not in account.roles:
        raise ApiError("ForbiddenException", "No access")
    cred = emu.sso_role_credentials(account_id, role_name)
    assert cred.expiration is not None and cred.session_token is not None
    return json_response(
        {
            "roleCredentials": {
                "accessKeyId": cred.access_key_id,
                "secretAccessKey": cred.secret_access_key,
                "sessionToken": cred.session_token,
                "expiration": int(cred.expiration) * 1000,
            }
        }
    )


def _encode_next(kind: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_next(kind: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["k"] != kind or not isinstance(data["o"], int) or data["o"] < 0:
            raise ValueError(token)
        return data["o"]
    except (ValueError, KeyError, TypeError):
        raise ApiError("InvalidRequestException", "Invalid nextToken") from None


def _page(emu: Emulator, req: Request, kind: str, items: list) -> tuple[list, str | None]:
    start = _decode_next(kind, req.query.get("next_token"))
    limits = []
    if req.query.get("max_result"):
        try:
            max_result = int(req.query["max_result"])
        except ValueError:
            raise ApiError("InvalidRequestException", "max_result must be a number") from None
        if not 1 <= max_result <= 100:
            raise ApiError("InvalidRequestException", "max_result must be between 1 and 100")
        limits.append(max_result)
    if emu.page_size:
        limits.append(int(emu.page_size))
    end = start + min(limits) if limits else len(items)
    return items[start:end], (_encode_next(kind, end) if end < len(items) else None)


def list_accounts(emu: Emulator, req: Request) -> Response:
    """GET /assignment/accounts"""
    _token(emu, req)
    items = [
        {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
        for a in emu.accounts
    ]
    page, next_token = _page(emu, req, "accounts", items)
    payload: dict = {"accountList": page}
    if next_token:
        payload["nextToken"] = next_token
    return json_response(payload)


def list_account_roles(emu: Emulator, req: Request) -> Response:
    """GET /assignment/roles?account_id="""
    _token(emu, req)
    account_id = req.query.get("account_id")
    if not account_id:
        raise ApiError("InvalidRequestException", "account_id is required")
    account = emu.account(account_id)
    roles = list(account.roles) if account else []
    items = [{"roleName": r, "accountId": account_id} for r in roles]
    page, next_token = _page(emu, req, f"roles:{account_id}", items)
    payload: dict = {"roleList": page}
    if next_token:
        payload["nextToken"] = next_token
    return json_response(payload)


def logout(emu: Emulator, req: Request) -> Response:
    """POST /logout: ends the session (its access and refresh tokens)."""
    access = _token(emu, req)
    access.revoked = True
    access.session.revoked = True
    return Response(200, b"")
