"""Where the AWS config and shared credentials files are, by botocore's rules:
AWS_CONFIG_FILE (else ~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials),
with $VARIABLES and `~` expanded as botocore's loader expands them. Standard library only:
shell completion asks on every <TAB>."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ssoexec.errors import ConfigError
from ssoexec.terminal import shorten

CONFIG_FILE = "AWS_CONFIG_FILE"
CREDENTIALS_FILE = "AWS_SHARED_CREDENTIALS_FILE"


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    """The config file botocore reads."""
    return _expand(env.get(CONFIG_FILE) or "~/.aws/config")


def credentials_path(env: Mapping[str, str] = os.environ) -> Path:
    """The shared credentials file botocore reads."""
    return _expand(env.get(CREDENTIALS_FILE) or "~/.aws/credentials")


def _expand(path: str) -> Path:
    return Path(os.path.expanduser(os.path.expandvars(path)))


def unreadable(path: Path, error: OSError) -> ConfigError:
    """The error for a config or credentials file that exists but cannot be read."""
    return ConfigError(
        f"cannot read the AWS config {path}: {shorten(error.strerror or error, 300)}",
        "check the file's permissions and that it is UTF-8 text",
    )
