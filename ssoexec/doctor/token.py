"""The profile's SSO token: legacy profiles that cannot refresh, the token's state, the
cache's permissions, this machine's clock, and tokens cached for another region or start URL."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ssoexec import sso_token, token_cache
from ssoexec.doctor.clock import (
    CLOCK_MARGIN,
    LONGEST_SSO_SESSION,
    REGISTRATION_LIFETIME,
)
from ssoexec.doctor.findings import INFO, OK, PROBLEM, Finding, shown
from ssoexec.errors import ConfigError
from ssoexec.profile import SsoSession, load_sso_session, sso_root
from ssoexec.timestamps import format_timestamp, from_epoch, minutes_left, utcnow


def check_legacy(profile) -> list[Finding]:
    root = sso_root(profile)
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
    root = sso_root(profile)
    if root is None:
        return [Finding(INFO, f"profile {profile.name} does not use SSO: no token to check")]
    session, path = root.session, token_cache.cache_path(root.session.cache_key)
    login = f"run `{sso_token.login_command(session, profile.name)}`"
    modes = _cache_modes(path)
    try:
        token = token_cache.read_token(path)
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
    if token.expires_at - now < sso_token.REFRESH_WINDOW:
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


def check_token_regions(config: dict, profile_name: str) -> list[Finding]:
    """Every SSO session of the config whose cached token was issued for another sso_region
    or start URL: the portal refuses it (the commonest first-day error)."""
    findings = []
    for session, owner in _config_sessions(config, profile_name):
        try:
            token = token_cache.read_token(token_cache.cache_path(session.cache_key))
        except ConfigError:
            continue  # the checked profile's unusable token is reported by check_token
        if token is None:
            continue
        login = f"run `{sso_token.login_command(session, owner)}`"
        if token.region and token.region != session.region:
            findings.append(
                Finding(
                    PROBLEM,
                    f"the token cached for {session} was issued in {token.region}, but the "
                    f"config says sso_region = {session.region}: AWS SSO refuses it",
                    f"{login} (or correct sso_region if {token.region} is right)",
                )
            )
        elif token.start_url and token.start_url != session.start_url:
            findings.append(
                Finding(
                    PROBLEM,
                    f"the token cached for {session} is for {token.start_url}, but the config "
                    f"says sso_start_url = {session.start_url}: AWS SSO refuses it",
                    login,
                )
            )
    return findings


def _config_sessions(config: dict, profile_name: str) -> Iterator[tuple]:
    """(SsoSession, profile to name in a login hint) for each sso-session and legacy start URL;
    the checked profile names the login hint for its own session."""
    for name in config.get("sso_sessions", {}):
        try:
            yield load_sso_session(name, config), None
        except ConfigError:
            continue
    seen = set()
    profiles = config.get("profiles", {})
    legacy = sorted(profiles, key=lambda name: name != profile_name)  # the checked one first
    for name in legacy:
        values = profiles[name]
        start_url, region = values.get("sso_start_url"), values.get("sso_region")
        if values.get("sso_session") or not (start_url and region) or start_url in seen:
            continue
        seen.add(start_url)
        yield SsoSession(start_url=start_url, region=region), name
