"""Region names: what botocore accepts, checked before a value reaches a host name or the
command's environment."""

from __future__ import annotations

import re

from ssoexec.errors import EXIT_USAGE, ConfigError
from ssoexec.terminal import shorten

# What botocore accepts as a region name (botocore.utils.validate_region_name): it goes into
# endpoint host names, so anything else ("x y", "../x") must be refused before a call.
_REGION_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")


def is_region_name(text: str) -> bool:
    return bool(_REGION_NAME.fullmatch(text))


def check_region(value: str, source: str) -> None:
    """Fail unless `value` (from `source`: an option, a variable, a profile) is a region name."""
    if is_region_name(value):
        return
    error = f"{source} {shorten(value)!r} is not a region name"
    if source.startswith("--"):
        raise ConfigError(
            error, f"give {source} a region like us-east-1 or eu-west-1", exit_code=EXIT_USAGE
        )
    if source.startswith("AWS_"):  # AWS_REGION or AWS_DEFAULT_REGION
        raise ConfigError(error, f"set {source} to a region like eu-west-1, or unset it")
    raise ConfigError(error, "set a region like us-east-1 or eu-west-1 in the AWS config")
