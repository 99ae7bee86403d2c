"""The client registration a sign-in needs, cached where and as the AWS CLI caches it.

`aws sso login` and `ssoexec login` share the file (~/.aws/sso/cache/<sha1>.json, named as
AWS CLI >= 2.7.32 names it), so either reuses the other's registration while it is valid.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ssoexec.errors import ConfigError
from ssoexec.profile import DEFAULT_SCOPES, SsoSession
from ssoexec.terminal import say
from ssoexec.timestamps import format_timestamp, from_epoch, parse_timestamp, utcnow
from ssoexec.token_cache import AccessToken, cache_dir, read_cache_json, write_private_json

PKCE_GRANTS = ["authorization_code", "refresh_token"]
REGISTRATION_MARGIN = timedelta(minutes=15)  # as the AWS CLI: re-register this close to expiry
REDIRECT_URI = "http://127.0.0.1/oauth/callback"  # registered; the port is the listener's


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime

    def create_token(self, client, grant_type: str, **params: str) -> dict:
        """CreateToken as this client (the flows' last step)."""
        return client.create_token(
            grantType=grant_type,
            clientId=self.client_id,
            clientSecret=self.client_secret,
            **params,
        )

    def token(self, session: SsoSession, response: dict) -> AccessToken:
        """The token a CreateToken `response` made with this registration stands for."""
        return AccessToken(
            start_url=session.start_url,
            region=session.region,
            access_token=response["accessToken"],
            expires_at=utcnow() + timedelta(seconds=int(response["expiresIn"])),
            client_id=self.client_id,
            client_secret=self.client_secret,
            registration_expires_at=self.expires_at,
            refresh_token=response.get("refreshToken"),
        )


def registration_path(session: SsoSession) -> Path:
    """The AWS CLI's registration cache name (CLI >= 2.7.32), in the token cache directory."""
    key = {
        "tool": "botocore",
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": list(session.scopes) if session.scopes is not None else None,
        "session_name": session.name,
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()  # noqa: S324
    return cache_dir() / f"{digest}.json"


def registration(client, session: SsoSession, *, pkce: bool) -> Registration:
    """The cached registration if still valid for this flow, else a new one (cached)."""
    path = registration_path(session)
    try:
        cached = _cached_registration(path, pkce=pkce)
    except (ConfigError, ValueError) as error:
        why = error.message if isinstance(error, ConfigError) else f"{path}: {error}"
        say(f"registering anew: the cached client registration is unusable ({why})")
        cached = None
    if cached is not None:
        return cached
    name = f"ssoexec-{session.name or int(time.time())}"
    record: dict = {}
    if pkce:
        scopes = list(session.scopes or DEFAULT_SCOPES)
        response = client.register_client(
            clientName=name,
            clientType="public",
            grantTypes=PKCE_GRANTS,
            redirectUris=[REDIRECT_URI],
            issuerUrl=session.start_url,
            scopes=scopes,
        )
        record = {"scopes": scopes, "grantTypes": PKCE_GRANTS}
    elif session.scopes:
        response = client.register_client(
            clientName=name, clientType="public", scopes=list(session.scopes)
        )
        record = {"scopes": list(session.scopes)}
    else:
        response = client.register_client(clientName=name, clientType="public")
    new = Registration(
        response["clientId"],
        response["clientSecret"],
        from_epoch(response["clientSecretExpiresAt"]),
    )
    data = {
        "clientId": new.client_id,
        "clientSecret": new.client_secret,
        "expiresAt": format_timestamp(new.expires_at),
        **record,
    }
    with suppress(OSError):  # only a cache: the next sign-in registers again
        write_private_json(path, data)
    return new


def _cached_registration(path: Path, *, pkce: bool) -> Registration | None:
    """The registration cached in `path` if still good for this flow; None if there is none
    or it is stale. Raises ValueError (ConfigError) naming what is malformed in it."""
    try:
        cached = read_cache_json(path, "the client registration cache")
    except FileNotFoundError:
        return None
    except ValueError:
        raise ValueError("it is not valid JSON") from None
    if not isinstance(cached, dict):
        raise ValueError("it is not a JSON object")
    for key in ("clientId", "clientSecret", "expiresAt"):
        if not isinstance(cached.get(key), str) or not cached[key]:
            raise ValueError(f"its {key} is missing or not a string")
    grants = cached.get("grantTypes") or []
    if not isinstance(grants, list):
        raise ValueError("its grantTypes is not a list")
    expires = parse_timestamp(cached["expiresAt"])
    if ("authorization_code" in grants) != pkce or expires - utcnow() <= REGISTRATION_MARGIN:
        return None
    return Registration(cached["clientId"], cached["clientSecret"], expires)
