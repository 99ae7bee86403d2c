"""Shell completion: the scripts in shell/ (installed as ssoexec.shell), and the profile names
they ask for, read from the local config files only (no network, no botocore session)."""

from __future__ import annotations

import os
import sys
from importlib.resources import files

SCRIPTS = {
    "bash": "ssoexec.bash",
    "zsh": "_ssoexec",
    "fish": "ssoexec.fish",
    "powershell": "ssoexec.ps1",
}


def script(shell: str) -> str:
    """The completion script for `shell`, as installed with this version."""
    return files("ssoexec.shell").joinpath(SCRIPTS[shell]).read_text(encoding="utf-8")


def profile_names() -> list[str]:
    """Profile names from AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, sorted."""
    from botocore.configloader import raw_config_parse

    names: set[str] = set()
    config = os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")
    credentials = os.path.expanduser(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    )
    for path, prefixed in ((config, True), (credentials, False)):
        try:
            sections = raw_config_parse(path)
        except Exception:  # noqa: S112 - a broken file must not break the user's <TAB>
            continue
        for section in sections:
            if not prefixed or section == "default":
                names.add(section)
            elif section.startswith("profile "):
                names.add(section[len("profile ") :].strip().strip('"'))
    return sorted(names)


def print_profile_names() -> None:
    sys.stdout.write("".join(f"{name}\n" for name in profile_names()))
