"""Pure: parent environment + profile + credentials -> the child's environment (SPEC §5).

Set the credential keys, their expiry, both region variables and ssoexec's markers; remove what
would make an SDK ignore or override them; keep everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ssoexec.timestamps import format_timestamp, parse_timestamp, utcnow


@dataclass(frozen=True)
class RoleCredentials:
    """Credentials as a command gets them: fetched by credentials.py, or inherited."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None
    account_id: str | None = None


ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN = "AWS_SESSION_TOKEN"
CREDENTIAL_EXPIRATION = "AWS_CREDENTIAL_EXPIRATION"
REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
SSOEXEC_PROFILE = "SSOEXEC_PROFILE"
SSOEXEC_EXPIRATION = "SSOEXEC_EXPIRATION"
CONTAINER_FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
CONTAINER_AUTHORIZATION_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"

# The JS SDK v3 skips environment keys while AWS_PROFILE is set; botocore prefers
# AWS_SECURITY_TOKEN over AWS_SESSION_TOKEN; AWS_CREDENTIAL_FILE feeds botocore's old provider.
REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_FILE")
# Inherited container-provider settings would compete with what ssoexec provides.
REMOVED_PREFIXES = ("AWS_CONTAINER_CREDENTIALS_", "AWS_CONTAINER_AUTHORIZATION_TOKEN")

# A nested run reuses inherited credentials only while they have at least this long to live.
REUSE_MARGIN = timedelta(minutes=5)


def build_child_env(
    parent: Mapping[str, str],
    *,
    profile_name: str,
    credentials: RoleCredentials,
    region: str | None,
) -> dict[str, str]:
    """The environment the command runs with: credentials as keys in the environment."""
    env = _base(parent, profile_name, region)
    env[ACCESS_KEY_ID] = credentials.access_key_id
    env[SECRET_ACCESS_KEY] = credentials.secret_access_key
    if credentials.session_token:
        env[SESSION_TOKEN] = credentials.session_token
    if credentials.expiration is not None:
        env[CREDENTIAL_EXPIRATION] = env[SSOEXEC_EXPIRATION] = format_timestamp(
            credentials.expiration
        )
    return env


def build_server_env(
    parent: Mapping[str, str],
    *,
    profile_name: str,
    uri: str,
    authorization: str,
    region: str | None,
) -> dict[str, str]:
    """The environment for --server: the container-credentials endpoint instead of keys."""
    env = _base(parent, profile_name, region)
    env[CONTAINER_FULL_URI] = uri
    env[CONTAINER_AUTHORIZATION_TOKEN] = authorization
    return env


def _base(parent: Mapping[str, str], profile_name: str, region: str | None) -> dict[str, str]:
    env = {
        name: value
        for name, value in parent.items()
        if name not in REMOVED
        and name not in _CREDENTIAL_VARS
        and not name.startswith(REMOVED_PREFIXES)
    }
    env.pop(REGION, None)
    env.pop(DEFAULT_REGION, None)
    if region:
        env[REGION] = env[DEFAULT_REGION] = region
    env[SSOEXEC_PROFILE] = profile_name
    return env


# Always replaced as a set, so a stale session token never pairs with new keys.
_CREDENTIAL_VARS = (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    CREDENTIAL_EXPIRATION,
    SSOEXEC_EXPIRATION,
)


def inherited_credentials(
    parent: Mapping[str, str], profile_name: str, now: datetime | None = None
) -> RoleCredentials | None:
    """Inside an ssoexec child for the same profile, the credentials it was given, if they
    are still good for a while: a nested run then needs no network call at all."""
    if parent.get(SSOEXEC_PROFILE) != profile_name:
        return None
    key, secret = parent.get(ACCESS_KEY_ID), parent.get(SECRET_ACCESS_KEY)
    expiration = parent.get(SSOEXEC_EXPIRATION)
    if not (key and secret and expiration):
        return None
    try:
        expires = parse_timestamp(expiration)
    except ValueError:
        return None
    if expires - (now or utcnow()) < REUSE_MARGIN:
        return None
    return RoleCredentials(
        access_key_id=key,
        secret_access_key=secret,
        session_token=parent.get(SESSION_TOKEN) or None,
        expiration=expires,
    )


def inherited_server(parent: Mapping[str, str], profile_name: str) -> tuple[str, str] | None:
    """Inside an ssoexec --server child for the same profile, its endpoint and token: a
    nested run shares the endpoint, which stays fresh for as long as the outer one runs."""
    uri, token = parent.get(CONTAINER_FULL_URI), parent.get(CONTAINER_AUTHORIZATION_TOKEN)
    if parent.get(SSOEXEC_PROFILE) != profile_name or not (uri and token):
        return None
    return uri, token
