"""What a move to SSO should have removed, for `ssoexec doctor`: long-lived and copied keys
in the shared credentials file, and a section there shadowing an SSO profile."""

from __future__ import annotations

from botocore.configloader import load_config, raw_config_parse
from botocore.exceptions import BotoCoreError, ConfigParseError

from ssoexec.aws_files import config_path, credentials_path
from ssoexec.doctor.findings import OK, PROBLEM, Finding, masked_key_id, shown


def check_credentials_file(profile_name: str) -> list[Finding]:
    """Long-lived and copied keys in any section, and a section shadowing the profile."""
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


def _defined_in_config(profile_name: str) -> bool:
    """Whether the config file defines the profile too (else the section is the profile)."""
    try:
        return profile_name in load_config(str(config_path())).get("profiles", {})
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
