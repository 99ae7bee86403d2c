"""What a command run with the profile would see: the plan run.py follows (plan.py), its
region and where that comes from, the variables set and removed, and nesting."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ssoexec import environment as envvars
from ssoexec.choices import server_mode
from ssoexec.credentials import RoleCredentials
from ssoexec.doctor.findings import INFO, OK, Finding
from ssoexec.plan import (
    PROFILE_REGION,
    REUSE_ENDPOINT,
    SERVE,
    Region,
    RunPlan,
    child_env,
    difference,
    plan_run,
)
from ssoexec.profile import RoleChainProfile, SsoProfile
from ssoexec.timestamps import utcnow


def what_the_child_sees(profile, region: str | None, env: Mapping[str, str]) -> list[Finding]:
    """What a run would give its command: the same plan run.py follows (plan.py)."""
    plan = plan_run(env, profile_name=profile.name, region=region, server=server_mode())
    chosen = plan.region(env, profile.region)
    return [
        Finding(OK, f"profile {profile.name}: {describe(profile)}"),
        Finding(INFO, _region_line(chosen, env, None if plan.reuses else profile.region)),
        Finding(INFO, _variables_line(plan, profile, chosen.name, env)),
        *_nesting(plan, env),
    ]


def describe(profile) -> str:
    """The profile and the chain down to where its credentials come from."""
    if isinstance(profile, SsoProfile):
        session = profile.session
        how = f"sso-session {session.name!r}" if session.name else "legacy SSO"
        return (
            f"SSO, account {profile.account_id}, role {profile.role_name}, {how} "
            f"({session.start_url}, sso_region {session.region})"
        )
    if isinstance(profile, RoleChainProfile):
        source = (
            f"{profile.source.name}: {describe(profile.source)}"
            if profile.source
            else "its own static keys"
        )
        return f"assumes {profile.role_arn}, from {source}"
    return f"{profile.kind}, resolved by botocore"


def _region_line(chosen: Region, env: Mapping[str, str], profile: str | None) -> str:
    resolved = chosen.name
    if resolved is None:
        return (
            "region: none (no --region, AWS_REGION, AWS_DEFAULT_REGION or profile region): "
            "the command gets neither AWS_REGION nor AWS_DEFAULT_REGION"
        )
    source = (
        chosen.source
        if chosen.source in ("--region", PROFILE_REGION)
        else (f"the inherited {chosen.source}")
    )
    line = f"region: {resolved}, from {source}, as AWS_REGION and AWS_DEFAULT_REGION"
    overridden = [
        f"{name}={env[name]}"
        for name in (envvars.REGION, envvars.DEFAULT_REGION)
        if env.get(name) and env[name] != resolved
    ]
    if profile and profile != resolved:
        overridden.append(f"the profile's {profile}")
    return f"{line} (instead of {', '.join(overridden)})" if overridden else line


def _variables_line(plan: RunPlan, profile, region: str | None, env: Mapping[str, str]) -> str:
    """Names only: the child's environment built with placeholder values, compared. Static
    keys come without a session token or an expiry; everything else with both."""
    static = getattr(profile, "kind", "") == "static"
    placeholder = RoleCredentials("-", "-", *((None, None) if static else ("-", utcnow())))
    served = ("-", "-") if plan.action in (SERVE, REUSE_ENDPOINT) else None
    child = child_env(plan, env, region=region, credentials=placeholder, endpoint=served)
    set_, removed = difference(env, child)
    return f"ssoexec would set {', '.join(set_)}; remove {', '.join(removed) or 'nothing'}"


def _nesting(plan: RunPlan, env: Mapping[str, str]) -> Iterator[Finding]:
    outer, profile_name = env.get(envvars.SSOEXEC_PROFILE), plan.profile_name
    if not outer:
        return
    if outer != profile_name:
        yield Finding(
            INFO, f"inside an ssoexec child for {outer}: a run for {profile_name} replaces them"
        )
    elif plan.action == REUSE_ENDPOINT:
        yield Finding(
            INFO,
            f"inside an ssoexec --server child for {profile_name}: a nested run shares its "
            "credentials endpoint, with no AWS call",
        )
    elif plan.action == SERVE:
        yield Finding(
            INFO,
            f"inside an ssoexec child for {profile_name}: a nested --server run fetches its "
            "own credentials, to keep them fresh",
        )
    elif plan.reuses:
        yield Finding(
            INFO,
            f"inside an ssoexec child for {profile_name}: a nested run reuses the inherited "
            "credentials, with no AWS call",
        )
    else:
        yield Finding(
            INFO,
            f"inside an ssoexec child for {profile_name}: its credentials are too close to "
            "expiry to reuse, so a nested run fetches new ones",
        )
