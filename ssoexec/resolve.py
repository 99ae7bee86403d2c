"""A run's plan -> the credentials and region the command gets: the inherited ones, or the
profile's, fetched (signing in first when needed and a person is there to do it).

Shared by the plain run, --server, export and credential-process. botocore is loaded only when
the credentials must be fetched: a nested run that reuses inherited ones never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssoexec.choices import person_there
from ssoexec.credentials import RoleCredentials, fetch_credentials
from ssoexec.plan import Region, RunPlan
from ssoexec.profile import Profile, SsoSession, load_config, load_profile
from ssoexec.sso_token import Login
from ssoexec.token_cache import AccessToken

if TYPE_CHECKING:
    from ssoexec.clients import Aws

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
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
        return Resolved(plan.inherited_credentials, plan.region(parent))
    from ssoexec.clients import Aws  # botocore: only when the credentials are fetched

    aws = Aws(plan.profile_name)
    profile = load_profile(plan.profile_name, load_config(aws))
    log.debug("profile %s", profile)
    region = plan.region(parent, profile.region)
    log.debug("region %s, from %s", region.name, region.source)
    credentials = fetch_credentials(
        profile,
        aws,
        region=region.name,
        login=_sign_in_if_possible(login, plan.profile_name, aws),
        ask_mfa=login == "auto",
    )
    log.debug("credentials %s", credentials)
    # Later fetches never sign in or ask for an MFA code: the command owns the terminal by then.
    refetch = lambda: fetch_credentials(profile, aws, region=region.name, ask_mfa=False)  # noqa: E731
    return Resolved(credentials, region, refetch, profile)


def _sign_in_if_possible(mode: str, profile_name: str, aws: Aws) -> Login | None:
    if mode != "auto" or not person_there():
        return None

    def sign_in(session: SsoSession) -> AccessToken:
        from ssoexec.login import sign_in  # the listener and browser code: only to sign in

        return sign_in(session, aws, profile_name=profile_name)

    return sign_in
