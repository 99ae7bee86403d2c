"""What a move to SSO should have removed, for `ssoexec doctor`: long-lived and copied keys
in the shared credentials file, a section there shadowing an SSO profile, and tokens cached for
another sso_region or start URL than the config says (the portal refuses them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ssoexec.errors import ConfigError
from ssoexec.findings import OK, PROBLEM, Finding, masked_key_id, shown


def check_token_regions(config: dict, profile_name: str) -> list[Finding]:
    """Every SSO session of the config whose cached token was issued for another sso_region
    or start URL: the portal refuses it (the commonest first-day error)."""
    from ssoexec import sso_token

    findings = []
    for session, owner in _config_sessions(config, profile_name):
        try:
            token = sso_token.read_token(sso_token.cache_path(session.cache_key))
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
    from ssoexec.profile import SsoSession, load_sso_session

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


def check_credentials_file(profile_name: str) -> list[Finding]:
    """Long-lived and copied keys in any section, and a section shadowing the profile."""
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    path = credentials_path()
    where = shown(path)
    if not path.is_file():
        return [Finding(OK, f"no shared credentials file ({where})")]
    try:
        sections = raw_config_parse(str(path), parse_subsections=False)
    except ConfigParseError:
        return [
            Finding(
                PROBLEM,
                f"cannot parse the shared credentials file {where}",
                "fix its syntax (a duplicate section or a line outside any section)",
            )
        ]
    findings = []
    if profile_name in sections and _defined_in_config(profile_name):
        findings.append(_shadowing_section(profile_name, sections[profile_name], where))
    for name, values in sections.items():
        findings += _leftover_keys(name, values, where)
    return findings or [Finding(OK, f"{where}: no long-lived or copied keys")]


def credentials_path() -> Path:
    from ssoexec import clients

    configured = clients.session().get_config_variable("credentials_file")
    return Path(os.path.expanduser(os.path.expandvars(configured)))


def _defined_in_config(profile_name: str) -> bool:
    """Whether the config file defines the profile too (else the section is the profile)."""
    from botocore.configloader import load_config
    from botocore.exceptions import BotoCoreError

    from ssoexec.profile import config_path

    try:
        return profile_name in load_config(config_path()).get("profiles", {})
    except BotoCoreError:  # no config file; or one that does not parse, reported already
        return False


def _shadowing_section(name: str, values: dict, path: str) -> Finding:
    keys = "aws_access_key_id" in values
    effect = (
        "its keys are merged into the profile, and SDKs that take static keys before SSO "
        "(the JavaScript SDK v3 in CDK, the Go SDK in Terraform) use them instead"
        if keys
        else "botocore merges it into the profile, and its settings override the config's"
    )
    return Finding(
        PROBLEM,
        f"{path} has a [{name}] section, the name of this profile: {effect}",
        f"remove [{name}] from it (move any setting you need to the config file)",
    )


def _leftover_keys(name: str, values: dict, path: str) -> list[Finding]:
    key_id = values.get("aws_access_key_id", "")
    findings = []
    if key_id.startswith("AKIA"):
        findings.append(
            Finding(
                PROBLEM,
                f"[{name}] in {path} holds a long-lived IAM user access key "
                f"({masked_key_id(key_id)}), which never expires",
                f"now that SSO serves, deactivate the key in IAM, then delete it there and "
                f"remove [{name}] from the file",
            )
        )
    if values.get("aws_session_token") or values.get("aws_security_token"):
        findings.append(
            Finding(
                PROBLEM,
                f"[{name}] in {path} holds temporary credentials copied there (by a tool such "
                "as yawsso): they go stale and shadow SSO for tools that read the file",
                f"remove [{name}] and stop the tool that writes it; run tools as "
                "`ssoexec -p PROFILE -- COMMAND` instead",
            )
        )
    return findings
