"""A run's plan -> the credentials and region the command gets: the inherited ones, or the
profile's, fetched (signing in first when needed and a person is there to do it).

A role named with --sso-session/--account[/--role] (plan.target) becomes an SSO profile of that
[sso-session], so its token, refresh, lock and sign-in are the ones its profiles use; with no
--role, the account's only role, as the portal lists it.

Shared by the plain run, --server, export and credential-process. botocore is loaded only when
the credentials must be fetched: a nested run that reuses inherited ones never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ssoexec.choices import person_there
from ssoexec.credentials import RoleCredentials, fetch_credentials
from ssoexec.errors import AwsCallError
from ssoexec.plan import Region, RunPlan
from ssoexec.profile import (
    Profile,
    SsoProfile,
    SsoSession,
    load_config,
    load_profile,
    load_sso_session,
)
from ssoexec.sso_token import Login, with_valid_token
from ssoexec.terminal import shorten
from ssoexec.token_cache import AccessToken

if TYPE_CHECKING:
    from ssoexec.clients import Aws
    from ssoexec.direct import DirectTarget  # direct.py itself: only for a target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
    plan: RunPlan  # the plan, naming the role it found for a target given no --role
    credentials: RoleCredentials
    region: Region
    refetch: Callable[[], RoleCredentials] | None = None  # for --server: never signs in or asks
    profile: Profile | None = None  # the profile fetched for (None: inherited credentials)


def resolve(plan: RunPlan, parent: Mapping[str, str], *, login: str = "auto") -> Resolved:
    """The plan's credentials and the region the command sees.

    `login` "auto" signs in when the SSO token is missing, expired or refused, if a person is
    there to do it; "never" (or nobody there: CI, no terminal) fails at once instead.
    """
    if plan.inherited_credentials is not None:
        log.debug("reusing the credentials this ssoexec child was given for %s", plan.profile_name)
        return Resolved(plan, plan.inherited_credentials, plan.region(parent))
    from ssoexec.clients import Aws  # botocore: only when the credentials are fetched

    aws = Aws(plan.profile_name) if plan.target is None else Aws()  # a target has no profile
    sign_in = sign_in_if_possible(login, None if plan.target else plan.profile_name, aws)
    plan, profile = plan_profile(plan, aws, sign_in)
    region = plan.region(parent, profile_region(profile))
    log.debug("profile %s", profile)
    log.debug("region %s, from %s", region.name, region.source)
    credentials = fetch_credentials(
        profile, aws, region=region.name, login=sign_in, ask_mfa=login == "auto"
    )
    log.debug("credentials %s", credentials)
    # Later fetches never sign in or ask for an MFA code: the command owns the terminal by then.
    refetch = lambda: fetch_credentials(profile, aws, region=region.name, ask_mfa=False)  # noqa: E731
    return Resolved(plan, credentials, region, refetch, profile)


def plan_profile(plan: RunPlan, aws: Aws, sign_in: Login | None) -> tuple[RunPlan, Profile]:
    """The profile the plan names, loaded but not resolved, and the plan naming it: a target's
    is the SSO profile of its [sso-session] (the portal asked for the role when none was
    given, signing in through `sign_in` if it must), and the plan then names that role."""
    if plan.target is None:
        return plan, load_profile(plan.profile_name, load_config(aws))
    profile = _target_profile(plan.target, load_config(aws), aws, sign_in)
    return replace(
        plan, profile_name=profile.name, target=plan.target.with_role(profile.role_name)
    ), profile


def profile_region(profile: Profile) -> str | None:
    """The region a profile gives the command: its own, or for a target its session's."""
    if isinstance(profile, SsoProfile) and profile.direct:
        return profile.session.region
    return profile.region


def _target_profile(
    target: DirectTarget, config: dict, aws: Aws, sign_in: Login | None
) -> SsoProfile:
    """The SSO profile a DirectTarget stands for: its [sso-session], its account, and its role
    (with no --role, the only one the portal lists for that account)."""
    session = load_sso_session(target.session, config)
    role = target.role or _only_role(target, session, aws, sign_in)
    return SsoProfile(
        name=target.with_role(role).name,
        session=session,
        account_id=target.account_id,
        role_name=role,
        direct=True,
    )


def _only_role(target: DirectTarget, session: SsoSession, aws: Aws, sign_in: Login | None) -> str:
    from ssoexec.direct import ambiguous, is_role_name, no_access
    from ssoexec.portal import fetch_account_roles  # the portal's listing: only without --role

    roles = with_valid_token(
        session,
        aws,
        lambda token: fetch_account_roles(session, token.access_token, target.account_id, aws),
        login=sign_in,
    )
    log.debug("the portal lists %d role(s) in account %s", len(roles), target.account_id)
    if not roles:
        raise no_access(target.session, target.account_id)
    if len(roles) > 1:
        raise ambiguous(target, roles)
    if not is_role_name(roles[0]):
        raise AwsCallError(
            f"AWS SSO listed the role {shorten(roles[0])!r} in account {target.account_id}, "
            "which is not a role name",
            "check AWS_ENDPOINT_URL_SSO, or give --role",
        )
    return roles[0]


def sign_in_if_possible(mode: str, profile_name: str | None, aws: Aws) -> Login | None:
    if mode != "auto" or not person_there():
        return None

    def sign_in(session: SsoSession) -> AccessToken:
        from ssoexec.login import sign_in  # the listener and browser code: only to sign in

        return sign_in(session, aws, profile_name=profile_name)

    return sign_in
