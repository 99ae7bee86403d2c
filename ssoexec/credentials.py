"""Profile + SSO token -> role credentials: GetRoleCredentials, then AssumeRole along a chain.

Everything that talks to AWS goes through ssoexec.clients (botocore), imported on first use so
that a nested run that reuses inherited credentials never loads botocore.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from ssoexec.environment import RoleCredentials
from ssoexec.errors import AwsCallError, ConfigError, SsoexecError
from ssoexec.profile import BotocoreProfile, Profile, RoleChainProfile, SsoProfile
from ssoexec.sso_token import Login, TokenRefused, with_valid_token
from ssoexec.token_cache import AccessToken

if TYPE_CHECKING:  # clients loads botocore: imported where a call is made
    from ssoexec.clients import Aws
from ssoexec.terminal import printable, shorten
from ssoexec.timestamps import format_timestamp, from_epoch, utcnow

log = logging.getLogger(__name__)

# The portal's answers for an account or role not assigned to you (403).
_NO_ACCESS = ("ForbiddenException", "AccessDeniedException")
# Clock differences below this are not worth mentioning.
_SKEW_TOLERANCE = timedelta(minutes=5)


def fetch_credentials(
    profile: Profile,
    aws: Aws,
    *,
    region: str | None = None,
    login: Login | None = None,
    ask_mfa: bool = True,
) -> RoleCredentials:
    """Resolve any supported profile to credentials, in memory only.

    `aws` makes the clients (the profile the user named sets their options).
    `region` is where STS is called along a role chain (as botocore: the session's region).
    `login`, if given, is called to sign in when the SSO token is missing or expired.
    `ask_mfa` False: a chain with mfa_serial fails instead of asking for a code.
    """
    if isinstance(profile, SsoProfile):
        return fetch_sso_credentials(profile, aws, login=login)
    if isinstance(profile, RoleChainProfile):
        return _assume_chain(profile, aws, region=region, login=login, ask_mfa=ask_mfa)
    if isinstance(profile, BotocoreProfile):
        return _botocore_credentials(profile, aws)
    raise TypeError(profile)


def fetch_sso_credentials(
    profile: SsoProfile, aws: Aws, *, login: Login | None = None
) -> RoleCredentials:
    """GetRoleCredentials with the profile's SSO token (refreshed or signed in as needed).

    A token the portal refuses (401) gets one more chance: another refresh or sign-in, then
    the call again.
    """
    return with_valid_token(
        profile.session,
        aws,
        lambda token: _get_role_credentials(profile, token, aws),
        profile_name=None if profile.direct else profile.name,  # direct: login --sso-session
        login=login,
    )


def _get_role_credentials(profile: SsoProfile, token: AccessToken, aws: Aws) -> RoleCredentials:
    from ssoexec import clients

    client = aws.sso(profile.session.region)
    log.debug(
        "GetRoleCredentials %s/%s at %s",
        profile.account_id,
        profile.role_name,
        client.meta.endpoint_url,
    )
    with clients.translate_errors(
        f"AWS SSO GetRoleCredentials for role {profile.role_name} in account {profile.account_id}",
        denied_hint=f"check sso_account_id and sso_role_name of profile {profile.name!r}, or ask "
        "your administrator to assign you that role",
    ):
        try:
            response = client.get_role_credentials(
                accessToken=token.access_token,
                accountId=profile.account_id,
                roleName=profile.role_name,
            )
        except client.exceptions.UnauthorizedException:
            raise TokenRefused from None
        except client.exceptions.ClientError as error:
            if profile.direct and error.response.get("Error", {}).get("Code") in _NO_ACCESS:
                from ssoexec.direct import no_access  # only for a role named without a profile

                session = profile.session.name or ""
                raise no_access(session, profile.account_id, profile.role_name) from None
            raise
    role = response["roleCredentials"]
    credentials = RoleCredentials(
        access_key_id=role["accessKeyId"],
        secret_access_key=role["secretAccessKey"],
        session_token=role["sessionToken"],
        expiration=from_epoch(role["expiration"] / 1000),
        account_id=profile.account_id,
    )
    _check_not_expired(credentials, response, "AWS SSO")
    return credentials


def _assume_chain(
    profile: RoleChainProfile, aws: Aws, *, region: str | None, login: Login | None, ask_mfa: bool
) -> RoleCredentials:
    """AssumeRole with the source profile's credentials, recursively down the chain."""
    from ssoexec import clients

    if profile.source is None:  # the profile's own static keys are the source
        source = profile.static_keys
    else:
        source = fetch_credentials(profile.source, aws, region=region, login=login, ask_mfa=ask_mfa)
    params = {
        "RoleArn": profile.role_arn,
        "RoleSessionName": profile.role_session_name or f"ssoexec-{int(time.time())}",
    }
    if profile.external_id:
        params["ExternalId"] = profile.external_id
    if profile.duration_seconds:
        params["DurationSeconds"] = profile.duration_seconds
    if profile.mfa_serial:
        params["SerialNumber"] = profile.mfa_serial
        params["TokenCode"] = _prompt_mfa(profile, ask_mfa)
    client = aws.sts(region, source)
    log.debug("AssumeRole %s at %s", profile.role_arn, client.meta.endpoint_url)
    with clients.translate_errors(
        f"STS AssumeRole into {profile.role_arn}",
        denied_hint=f"check that the role trusts the source of profile {profile.name!r}, "
        "and its external_id and mfa_serial",
        invalid_hint=f"check role_arn, role_session_name and duration_seconds of profile "
        f"{profile.name!r} (duration_seconds is at most 3600 when the source is a role)",
    ):
        response = client.assume_role(**params)
    issued = response["Credentials"]
    credentials = RoleCredentials(
        access_key_id=issued["AccessKeyId"],
        secret_access_key=issued["SecretAccessKey"],
        session_token=issued["SessionToken"],
        expiration=issued["Expiration"],
        account_id=_account_from_arn(response["AssumedRoleUser"]["Arn"]),
    )
    _check_not_expired(credentials, response, "STS")
    return credentials


def _prompt_mfa(profile: RoleChainProfile, allowed: bool) -> str:
    if not allowed:
        raise SsoexecError(
            f"profile {profile.name!r} needs an MFA code ({profile.mfa_serial}), and this "
            "run may not ask for one (credential-process, --login never)",
            f"run `ssoexec -p {profile.name} -- <command>` from a terminal instead",
        )
    if not _has_terminal():
        raise SsoexecError(
            f"profile {profile.name!r} needs an MFA code ({profile.mfa_serial}) "
            "and there is no terminal to ask for it",
            "run it from a terminal, or use a profile without mfa_serial in scripts",
        )
    code = getpass.getpass(f"Enter MFA code for {printable(profile.mfa_serial)}: ").strip()
    if not (len(code) == 6 and code.isdigit()):
        raise SsoexecError(
            f"{shorten(code)!r} is not an MFA code", "enter the 6 digits your MFA device shows"
        )
    return code


def _has_terminal() -> bool:
    """Whether getpass can ask someone: POSIX opens the controlling terminal; Windows (no
    os.ctermid, no /dev/tty) reads the console, there when stdin is one."""
    if not hasattr(os, "ctermid"):
        return sys.stdin is not None and sys.stdin.isatty()
    try:
        with open(os.ctermid()):
            return True
    except OSError:
        return False


def _botocore_credentials(profile: BotocoreProfile, aws: Aws) -> RoleCredentials:
    """Static keys, credential_process, credential_source...: botocore resolves these itself
    (a chain's source with its own botocore session, scoped to it)."""
    from ssoexec import clients

    with clients.translate_errors(f"resolving profile {profile.name!r}"):
        scoped = aws if aws.profile == profile.name else clients.Aws(profile.name)
        resolved = scoped.session.get_credentials()
        if resolved is None:
            raise ConfigError(
                f"profile {profile.name!r} has no credentials botocore can resolve",
                "add sso_* keys, role_arn + source_profile, keys or credential_process to it",
            )
        frozen = resolved.get_frozen_credentials()
    # botocore keeps the expiry of refreshable credentials only on this attribute.
    expiry = getattr(resolved, "_expiry_time", None)
    return RoleCredentials(
        access_key_id=frozen.access_key,
        secret_access_key=frozen.secret_key,
        session_token=frozen.token or None,
        expiration=expiry,
        account_id=getattr(frozen, "account_id", None),
    )


def _check_not_expired(credentials: RoleCredentials, response: dict, service: str) -> None:
    """Fresh credentials that already look expired mean this machine's clock is wrong."""
    if credentials.expiration is None or credentials.expiration > utcnow():
        return
    skew = _clock_skew(response)
    off_by = f" (this machine's clock is {_describe(skew)} AWS's)" if skew else ""
    raise AwsCallError(
        f"{service} issued credentials that expire at {format_timestamp(credentials.expiration)}, "
        f"already past by this machine's clock{off_by}",
        "set the system clock right (e.g. `timedatectl set-ntp true`), then run again",
    )


def _clock_skew(response: dict) -> timedelta | None:
    from email.utils import parsedate_to_datetime  # only for a clock check: not on the plain path

    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not date:
        return None
    try:
        skew = utcnow() - parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return skew if abs(skew) > _SKEW_TOLERANCE else None


def _describe(skew: timedelta) -> str:
    minutes = round(abs(skew.total_seconds()) / 60)
    return f"{minutes} min {'ahead of' if skew > timedelta(0) else 'behind'}"


def _account_from_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
