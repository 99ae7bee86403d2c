"""The `aws` on PATH: AWS CLI v1 cannot sign in to SSO."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ssoexec.doctor.findings import INFO, OK, PROBLEM, Finding, shown

AWS_VERSION_TIMEOUT = 5.0


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
