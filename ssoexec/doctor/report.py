"""`ssoexec doctor`: what a command run with a profile would see, and what is wrong.

Local information only: the config and credentials files, the AWS CLI's token cache, the
environment and `aws --version`. It never signs in, refreshes or calls AWS, and changes no file.
Each check (one module each in this package) returns findings; `diagnose` prints them, one line
each, and a summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ssoexec.clients import Aws
from ssoexec.doctor.agent import check_agent
from ssoexec.doctor.aws_cli import check_aws_cli
from ssoexec.doctor.child import what_the_child_sees
from ssoexec.doctor.findings import PROBLEM, Finding
from ssoexec.doctor.leftovers import check_credentials_file
from ssoexec.doctor.token import check_legacy, check_token, check_token_regions
from ssoexec.doctor.variables import check_environment, check_inherited_expiry
from ssoexec.errors import ConfigError
from ssoexec.profile import load_config, load_profile
from ssoexec.terminal import printable, shorten


def diagnose(profile_name: str, *, region: str | None) -> int:
    """Print the report on stdout; 0 when all is well, 1 when something is wrong."""
    findings = collect(profile_name, region=region, env=os.environ)
    report(findings, profile_name)
    return 1 if any(f.level == PROBLEM for f in findings) else 0


def collect(profile_name: str, *, region: str | None, env: Mapping[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    config = profile = None
    try:
        config = load_config(Aws())
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
    findings += check_agent(profile_name, region, env)
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
