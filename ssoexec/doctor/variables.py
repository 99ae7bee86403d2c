"""The environment doctor runs in: profile variables and keys that shadow ssoexec's, and
the expiry of credentials an outer ssoexec gave it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from ssoexec import environment as envvars
from ssoexec.doctor.clock import (
    CLOCK_MARGIN,
    LONGEST_ROLE_SESSION,
)
from ssoexec.doctor.findings import OK, PROBLEM, Finding, masked_key_id
from ssoexec.timestamps import format_timestamp, minutes_left, parse_timestamp, utcnow

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
