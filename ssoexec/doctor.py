"""`ssoexec doctor`: what a command run with a profile would see, and what is wrong.

Local information only: the config and credentials files, the AWS CLI's token cache, the
environment and `aws --version`. It never signs in, refreshes or calls AWS, and changes no file.
Each check returns findings; `diagnose` prints them, one line each, and a summary.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from ssoexec import environment as envvars
from ssoexec.choices import server_mode
from ssoexec.credentials import RoleCredentials
from ssoexec.errors import ConfigError
from ssoexec.findings import INFO, OK, PROBLEM, Finding, masked_key_id, shown
from ssoexec.migration import check_credentials_file, check_token_regions
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
from ssoexec.terminal import printable, shorten
from ssoexec.timestamps import format_timestamp, from_epoch, minutes_left, parse_timestamp, utcnow

# Clock rules, kept conservative so that a correct clock is never blamed. A token's expiresAt is
# this machine's clock at sign-in plus the session's lifetime, and IAM Identity Center sessions
# last 90 days at most; the client registration expires 90 days after AWS (by AWS's clock)
# registered it, which happens before the token file is written. So this clock is behind if a
# token expires more than 90 days from now, or if AWS registered the client well after this
# machine says it wrote the token file; it jumped back if the file was written in the future.
# Role credentials last 12 hours at most.
LONGEST_SSO_SESSION = timedelta(days=90)
REGISTRATION_LIFETIME = timedelta(days=90)
LONGEST_ROLE_SESSION = timedelta(hours=12)
CLOCK_MARGIN = timedelta(hours=1)
AWS_VERSION_TIMEOUT = 5.0


def diagnose(profile_name: str, *, region: str | None) -> int:
    """Print the report on stdout; 0 when all is well, 1 when something is wrong."""
    findings = collect(profile_name, region=region, env=os.environ)
    report(findings, profile_name)
    return 1 if any(f.level == PROBLEM for f in findings) else 0


def collect(profile_name: str, *, region: str | None, env: Mapping[str, str]) -> list[Finding]:
    from ssoexec.profile import load_config, load_profile

    findings: list[Finding] = []
    config = profile = None
    try:
        config = load_config()
        profile = load_profile(profile_name, config)
    except ConfigError as error:
        findings.append(Finding(PROBLEM, error.message, error.hint))
    if profile is not None:
        findings += what_the_child_sees(profile, region, env)
        findings += check_legacy(profile)
        findings += check_token(profile)
    findings += check_environment(env)
    findings += check_inherited_expiry(env)
    if config is not None:
        findings += check_token_regions(config, profile_name)
    findings += check_credentials_file(profile_name)
    findings += check_aws_cli()
    return findings


def report(findings: list[Finding], profile_name: str) -> None:
    """One line a finding, made printable (they quote files, AWS and the environment)."""
    for finding in findings:
        line = f"{finding.level:<8} {finding.message}"
        print(printable(f"{line}; fix: {finding.hint}" if finding.hint else line))
    problems = sum(f.level == PROBLEM for f in findings)
    name = shorten(profile_name)
    if problems:
        plural = "s" if problems > 1 else ""
        print(f"summary: {problems} problem{plural} found for profile {name}")
    else:
        print(f"summary: all OK for profile {name}")


# ---------------------------------------------------------------- what the child would see


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
    from ssoexec.profile import RoleChainProfile, SsoProfile

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


# ---------------------------------------------------------------- the profile and its token


def check_legacy(profile) -> list[Finding]:
    root = _sso_root(profile)
    if root is None or root.session.refreshable:
        return []
    return [
        Finding(
            PROBLEM,
            f"profile {root.name} is a legacy SSO profile (sso_start_url in the profile): its "
            "token cannot be refreshed, so every expiry means signing in again",
            f"move sso_start_url and sso_region to an [sso-session NAME] section with "
            f"sso_registration_scopes = sso:account:access, and set sso_session = NAME in "
            f"[profile {root.name}]",
        )
    ]


def check_token(profile) -> list[Finding]:
    from ssoexec import sso_token

    root = _sso_root(profile)
    if root is None:
        return [Finding(INFO, f"profile {profile.name} does not use SSO: no token to check")]
    session, path = root.session, sso_token.cache_path(root.session.cache_key)
    login = f"run `{sso_token.login_command(session, profile.name)}`"
    modes = _cache_modes(path)
    try:
        token = sso_token.read_token(path)
    except ConfigError as error:
        return [*modes, Finding(PROBLEM, error.message, error.hint)]
    if token is None:
        return [*modes, Finding(PROBLEM, f"no SSO token for {session} in the AWS CLI cache", login)]
    findings = [*modes, _token_state(session, token, login)]
    clock = _token_clock(token, path)
    return [*findings, clock] if clock else findings


def _cache_modes(path: Path) -> list[Finding]:
    """The token cache directories and the token file, if others may change (or, for the
    token, read) them: whoever can write there can plant a token or a link, or take one."""
    findings = []
    for item, mask, fix in (
        (path.parent.parent, 0o022, "chmod 700"),
        (path.parent, 0o022, "chmod 700"),
        (path, 0o077, "chmod 600"),
    ):
        try:
            mode = os.lstat(item).st_mode
        except OSError:
            continue  # missing: reported with the token, if at all
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) or not mode & mask:
            continue
        who = "group and others" if mode & 0o070 and mode & 0o007 else "others"
        if not mode & 0o007:
            who = "its group"
        can = "write to" if mode & 0o022 else "read"
        findings.append(
            Finding(
                PROBLEM,
                f"{who} can {can} {shown(item)} (mode {stat.S_IMODE(mode):o})",
                f"`{fix} {shown(item)}`",
            )
        )
    return findings


def _token_state(session, token, login: str) -> Finding:
    from ssoexec.sso_token import REFRESH_WINDOW

    now = utcnow()
    until = format_timestamp(token.expires_at)
    refreshable = session.refreshable and token.can_refresh(now)
    where = f"the SSO token for {session}"
    if token.expires_at <= now:
        if refreshable:
            return Finding(
                OK, f"{where} expired at {until}; its refresh token renews it on the next run"
            )
        return Finding(PROBLEM, f"{where} expired at {until} and cannot be refreshed", login)
    left = minutes_left(token.expires_at, now)
    if token.expires_at - now < REFRESH_WINDOW:
        if refreshable:
            return Finding(OK, f"{where} expires in {left} min; the next run refreshes it")
        return Finding(PROBLEM, f"{where} expires in {left} min and cannot be refreshed", login)
    how = "refreshable" if refreshable else "not refreshable: sign in again when it expires"
    return Finding(OK, f"{where} is valid for {left} min (until {until}), {how}")


def _token_clock(token, path: Path) -> Finding | None:
    """The clock rules at the top of this module, applied to one token file."""
    now = utcnow()
    written = from_epoch(path.stat().st_mtime)
    evidence = None
    if written > now + CLOCK_MARGIN:
        evidence = f"its token file was written at {format_timestamp(written)}, in the future"
    elif token.expires_at > now + LONGEST_SSO_SESSION + CLOCK_MARGIN:
        evidence = f"its token expires at {format_timestamp(token.expires_at)}, too far ahead"
    elif token.registration_expires_at:
        registered = token.registration_expires_at - REGISTRATION_LIFETIME
        if registered > written + CLOCK_MARGIN:
            evidence = (
                f"AWS registered its client at {format_timestamp(registered)}, after this "
                f"machine says the token file was written ({format_timestamp(written)})"
            )
    if evidence is None:
        return None
    return Finding(
        PROBLEM,
        f"this machine's clock ({format_timestamp(now)}) looks behind: {evidence}",
        "set the clock (enable NTP: `timedatectl set-ntp true`), then sign in again",
    )


def _sso_root(profile):
    """The SSO profile at the root of a role chain, or None if the chain does not use SSO."""
    from ssoexec.profile import SsoProfile

    while getattr(profile, "source", None) is not None:
        profile = profile.source
    return profile if isinstance(profile, SsoProfile) else None


# ---------------------------------------------------------------- the environment


_KEY_VARS = (envvars.ACCESS_KEY_ID, envvars.SECRET_ACCESS_KEY, envvars.SESSION_TOKEN)


def check_environment(env: Mapping[str, str]) -> list[Finding]:
    inside = env.get(envvars.SSOEXEC_PROFILE)
    findings = [*_profile_variables(env, inside)]
    if env.get("AWS_SECURITY_TOKEN"):
        findings.append(
            Finding(
                PROBLEM,
                "AWS_SECURITY_TOKEN is set: botocore prefers it to AWS_SESSION_TOKEN, so tools "
                "pair it with the wrong keys (ssoexec removes it only for its own command)",
                "unset AWS_SECURITY_TOKEN, and remove it from your shell's startup files",
            )
        )
    keys = [n for n in _KEY_VARS if env.get(n)]
    if keys and not inside:
        key_id = env.get(envvars.ACCESS_KEY_ID)
        which = f" (key {masked_key_id(key_id)})" if key_id else ""
        findings.append(
            Finding(
                PROBLEM,
                f"{', '.join(keys)} set outside ssoexec{which}: every tool run without "
                "ssoexec uses these keys, whatever profile you name",
                f"unset {' '.join(keys)}, and stop exporting them from your shell's startup "
                "files; run tools as `ssoexec -p PROFILE -- COMMAND`",
            )
        )
    if not findings:
        what = f"the credentials of ssoexec's child for {inside}" if inside else "no keys"
        findings.append(
            Finding(
                OK,
                f"environment: {what}, no AWS_PROFILE, AWS_DEFAULT_PROFILE or "
                "AWS_SECURITY_TOKEN to shadow them",
            )
        )
    return findings


def _profile_variables(env: Mapping[str, str], inside: str | None) -> Iterator[Finding]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        if not env.get(name):
            continue
        if inside:
            why = (
                f"inside ssoexec's child for {inside}: the JavaScript SDK v3 (CDK) then ignores "
                f"the credentials in the environment and uses profile {env[name]}"
            )
        else:
            why = (
                "ssoexec drops it for its command, but in this shell the JavaScript SDK v3 (CDK) "
                "would ignore keys in the environment (from `ssoexec export`) and use profile "
                f"{env[name]}"
            )
        yield Finding(
            PROBLEM,
            f"{name}={env[name]} is set: {why}",
            f"unset {name}, and name the profile with `ssoexec -p {env[name]}`",
        )


def check_inherited_expiry(env: Mapping[str, str]) -> list[Finding]:
    """Inside ssoexec's child: credentials already expired, or expiring later than any role
    session can last (this clock is behind)."""
    inside = env.get(envvars.SSOEXEC_PROFILE)
    text = env.get(envvars.CREDENTIAL_EXPIRATION) or env.get(envvars.SSOEXEC_EXPIRATION)
    if not inside or not text:
        return []
    try:
        expires = parse_timestamp(text)
    except ValueError:
        return [
            Finding(
                PROBLEM,
                f"AWS_CREDENTIAL_EXPIRATION is not a timestamp: {text!r}",
                f"leave this shell and run `ssoexec -p {inside}` again",
            )
        ]
    return _expiry_findings(inside, expires, utcnow())


def _expiry_findings(profile: str, expires: datetime, now: datetime) -> list[Finding]:
    when = format_timestamp(expires)
    if expires <= now:
        return [
            Finding(
                PROBLEM,
                f"the credentials ssoexec gave this environment ({profile}) expired at {when}, "
                f"{-minutes_left(expires, now)} min ago (if they were issued just now, this "
                "machine's clock is wrong)",
                f"leave this shell and run `ssoexec -p {profile}` again (or `--server`, which "
                "keeps them fresh)",
            )
        ]
    if expires > now + LONGEST_ROLE_SESSION + CLOCK_MARGIN:
        return [
            Finding(
                PROBLEM,
                f"the credentials in this environment expire at {when}, later than any role "
                f"session lasts: this machine's clock ({format_timestamp(now)}) looks behind",
                "set the clock (enable NTP: `timedatectl set-ntp true`)",
            )
        ]
    return [Finding(OK, f"the credentials in this environment are valid until {when}")]


# ---------------------------------------------------------------- the AWS CLI on PATH

_CLI_VERSION = re.compile(r"aws-cli/(\S+)")


def check_aws_cli() -> list[Finding]:
    found = shutil.which("aws")
    if found is None:
        return [Finding(OK, "no `aws` on PATH")]
    path = shown(Path(found))
    try:
        result = subprocess.run(
            [found, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=AWS_VERSION_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return [Finding(INFO, f"cannot tell which AWS CLI {path} is (`aws --version` failed)")]
    match = _CLI_VERSION.search(result.stdout + result.stderr)
    if match is None:
        return [Finding(INFO, f"cannot tell which AWS CLI {path} is")]
    version = match.group(1)
    if version.startswith("1."):
        return [
            Finding(
                PROBLEM,
                f"`aws` on PATH ({path}) is AWS CLI v1 (aws-cli/{version}): it cannot sign in "
                "to SSO (no `aws sso login`), and older v1 releases cannot read SSO profiles",
                "install AWS CLI v2 ahead of it on PATH, or run it as `ssoexec -p PROFILE -- aws "
                "...`",
            )
        ]
    return [Finding(OK, f"`aws` on PATH is aws-cli/{version}")]
