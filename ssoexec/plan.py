"""Pure: what a run will do, decided in one place for run, export and doctor.

Inside an ssoexec child for the same profile a nested run reuses what it was given: the
--server endpoint (fresh for as long as the outer run lasts), else the credentials, while they
have time left. Otherwise the credentials are fetched, or served by --server. The region is
--region, else an inherited AWS_REGION / AWS_DEFAULT_REGION, else the profile's (for a role
named with --sso-session/--account, the session's sso_region); a run that reuses takes none
from the profile (the outer run chose it). `child_env` then builds the §5
environment for whichever was chosen, and `difference` says what it sets and removes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ssoexec import environment as envvars
from ssoexec.environment import RoleCredentials
from ssoexec.regions import check_region

if TYPE_CHECKING:  # the plain run with -p never loads direct.py
    from ssoexec.direct import DirectTarget

REUSE_ENDPOINT = "reuse the inherited endpoint"
REUSE_CREDENTIALS = "reuse the inherited credentials"
SERVE = "serve"
FETCH = "fetch"
PROFILE_REGION = "the profile's region"
SESSION_REGION = "the sso-session's sso_region"  # a DirectTarget's: it has no profile


@dataclass(frozen=True)
class Region:
    name: str | None
    source: str | None  # "--region", "AWS_REGION", "AWS_DEFAULT_REGION", PROFILE_REGION,
    # SESSION_REGION or None


@dataclass(frozen=True)
class RunPlan:
    profile_name: str  # a DirectTarget's name (<session>/<account>/<role>) for a target
    action: str  # REUSE_ENDPOINT, REUSE_CREDENTIALS, SERVE or FETCH
    region_option: str | None = None
    inherited_credentials: RoleCredentials | None = field(default=None, repr=False)
    inherited_endpoint: tuple[str, str] | None = field(default=None, repr=False)  # (uri, token)
    target: DirectTarget | None = None  # --sso-session/--account/--role instead of a profile

    @property
    def reuses(self) -> bool:
        return self.action in (REUSE_ENDPOINT, REUSE_CREDENTIALS)

    def region(self, parent: Mapping[str, str], profile_region: str | None = None) -> Region:
        """Where the child's region comes from; the profile (a target's sso-session) counts
        only when not reusing."""
        return choose_region(
            self.region_option,
            parent,
            None if self.reuses else profile_region,
            SESSION_REGION if self.target is not None else PROFILE_REGION,
        )


def plan_run(
    parent: Mapping[str, str],
    *,
    profile_name: str,
    region: str | None,
    server: bool,
    share_endpoint: bool = True,
    target: DirectTarget | None = None,
) -> RunPlan:
    """What a run for `profile_name` (or for `target`, which then names the run) does in the
    environment `parent`.

    `share_endpoint` False: the caller needs credentials themselves (export), so an inherited
    endpoint is no use to it.
    """
    if target is not None:
        profile_name = target.inherited_name(parent, envvars.SSOEXEC_PROFILE)
        if target.role is None and profile_name == target.name:  # no role, none taken outside
            return RunPlan(profile_name, SERVE if server else FETCH, region, target=target)
    endpoint = envvars.inherited_server(parent, profile_name) if share_endpoint else None
    if endpoint is not None:
        return RunPlan(
            profile_name, REUSE_ENDPOINT, region, inherited_endpoint=endpoint, target=target
        )
    if server:
        return RunPlan(profile_name, SERVE, region, target=target)
    credentials = envvars.inherited_credentials(parent, profile_name)
    if credentials is not None:
        return RunPlan(
            profile_name,
            REUSE_CREDENTIALS,
            region,
            inherited_credentials=credentials,
            target=target,
        )
    return RunPlan(profile_name, FETCH, region, target=target)


def plan_for_keys(
    parent: Mapping[str, str],
    *,
    profile_name: str,
    region: str | None,
    target: DirectTarget | None = None,
) -> RunPlan:
    """The plan of a caller that needs the keys themselves (export, credential-process, the
    console, the agent's fetch): it never serves, and an inherited --server endpoint is no
    use to it."""
    return plan_run(
        parent,
        profile_name=profile_name,
        region=region,
        server=False,
        share_endpoint=False,
        target=target,
    )


def choose_region(
    explicit: str | None,
    parent: Mapping[str, str],
    profile_region: str | None,
    profile_source: str = PROFILE_REGION,
) -> Region:
    """--region, else an inherited AWS_REGION / AWS_DEFAULT_REGION, else the profile's (from
    `profile_source`). Whichever is used must be a region name: it reaches the command and
    AWS host names."""
    for name, source in (
        (explicit, "--region"),
        (parent.get(envvars.REGION), envvars.REGION),
        (parent.get(envvars.DEFAULT_REGION), envvars.DEFAULT_REGION),
        (profile_region, profile_source),
    ):
        if name:
            check_region(name, source)
            return Region(name, source)
    return Region(None, None)


def child_env(
    plan: RunPlan,
    parent: Mapping[str, str],
    *,
    region: str | None,
    credentials: RoleCredentials | None = None,
    endpoint: tuple[str, str] | None = None,
) -> dict[str, str]:
    """The command's environment: an endpoint's (`endpoint`, else the inherited one), else
    keys in the environment (`credentials`, else the inherited ones)."""
    endpoint = endpoint or plan.inherited_endpoint
    if endpoint is not None:
        uri, token = endpoint
        return envvars.build_server_env(
            parent, profile_name=plan.profile_name, uri=uri, authorization=token, region=region
        )
    credentials = credentials or plan.inherited_credentials
    if credentials is None:
        raise ValueError(f"a plan to {plan.action} needs credentials or an endpoint")
    return envvars.build_child_env(
        parent, profile_name=plan.profile_name, credentials=credentials, region=region
    )


def difference(parent: Mapping[str, str], child: Mapping[str, str]) -> tuple[list, list]:
    """(names the child has with another value or new, names the parent has and it lacks)."""
    changed = sorted(name for name in child if parent.get(name) != child[name])
    removed = sorted(name for name in parent if name not in child)
    return changed, removed
