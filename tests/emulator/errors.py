"""API errors and their wire encodings (rest-json for SSO/OIDC, query XML for STS)."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import escape

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

# Wire "protocol" of an API: how its errors are encoded.
PORTAL = "portal"  # rest-json, body {"message": ...}
OIDC = "oidc"  # rest-json, body {"error": ..., "error_description": ...}
STS = "sts"  # query protocol, XML ErrorResponse
FEDERATION = "federation"  # the console's federation endpoint: a status and an HTML page

# Default HTTP status of the error codes the emulator raises.
STATUS = {
    "InvalidClientException": 401,
    "UnauthorizedException": 401,
    "ForbiddenException": 403,
    "ResourceNotFoundException": 404,
    "TooManyRequestsException": 429,
    "InternalServerException": 500,
    "ServiceUnavailable": 503,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "AccessDenied": 403,
    "MissingAuthenticationToken": 403,
}

# Fault kinds of Emulator.fail() -> (code, message).
FAULT_KINDS: dict[int, tuple[str, str]] = {
    429: ("TooManyRequestsException", "Too many requests"),
    500: ("InternalServerException", "An internal error occurred"),
    503: ("ServiceUnavailable", "Service is unavailable"),
    403: ("ForbiddenException", "No access"),
}


class ApiError(Exception):
    """An error answer of an emulated AWS API."""

    def __init__(self, code: str, message: str = "", status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS.get(code, 400)


def snake_error(code: str) -> str:
    """OAuth-style error string: 'AuthorizationPendingException' -> 'authorization_pending'."""
    base = code[: -len("Exception")] if code.endswith("Exception") else code
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def encode_error(err: ApiError, protocol: str, request_id: str) -> tuple[dict[str, str], bytes]:
    """Return (headers, body) of an error response in the protocol's encoding."""
    if protocol == STS:
        kind = "Receiver" if err.status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{STS_NS}">\n'
            f"  <Error>\n    <Type>{kind}</Type>\n    <Code>{escape(err.code)}</Code>\n"
            f"    <Message>{escape(err.message)}</Message>\n  </Error>\n"
            f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
        )
        return {"Content-Type": "text/xml"}, body.encode()
    if protocol == FEDERATION:  # AWS gives no machine-readable reason, nor does this
        status = "Bad Request" if err.status == 400 else f"Error {err.status}"
        page = f"<!DOCTYPE html><html><body><h1>{escape(status)}</h1></body></html>\n"
        return {"Content-Type": "text/html; charset=utf-8"}, page.encode()
    if protocol == OIDC:
        payload = {"error": snake_error(err.code), "error_description": err.message}
    else:
        payload = {"message": err.message}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": err.code}
    return headers, json.dumps(payload).encode()
