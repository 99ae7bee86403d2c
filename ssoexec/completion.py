"""Shell completion: the scripts in shell/ (installed as ssoexec.shell), and the names they ask
for on every <TAB>, read from the local config files only (no network, no botocore session).

The scripts run `ssoexec __complete-profiles` for profile names and
`ssoexec __complete-profiles --sso-sessions` for sso-session names. Names follow botocore's own
rules (its config loader underneath), so they are exactly the ones ssoexec accepts.
"""

from __future__ import annotations

import sys

from ssoexec.aws_files import config_path, credentials_path

SCRIPTS = {
    "bash": "ssoexec.bash",
    "zsh": "_ssoexec",
    "fish": "ssoexec.fish",
    "powershell": "ssoexec.ps1",
}
SSO_SESSIONS = "--sso-sessions"  # the hook's one option: sso-session names instead of profiles


def script(shell: str) -> str:
    """The completion script for `shell`, as installed with this version."""
    from importlib.resources import files  # not on the per-<TAB> path: it costs 3 ms

    return files("ssoexec.shell").joinpath(SCRIPTS[shell]).read_text(encoding="utf-8")


def _sections(path: str) -> dict:
    """The sections of an INI file as botocore reads it; {} when missing, unreadable or broken."""
    from botocore.configloader import raw_config_parse

    try:
        return raw_config_parse(path, parse_subsections=False)
    except Exception:  # a broken file must not break the user's <TAB>
        return {}


def _config() -> dict:
    """The config file (AWS_CONFIG_FILE, else ~/.aws/config) as botocore's profile map."""
    from botocore.configloader import build_profile_map

    return build_profile_map(_sections(str(config_path())))


def profile_names() -> list[str]:
    """Profile names from the config file (`[default]`, `[profile NAME]`) and the shared
    credentials file (every section), sorted, each once."""
    return sorted({*_config()["profiles"], *_sections(str(credentials_path()))})


def sso_session_names() -> list[str]:
    """The names of the config file's `[sso-session NAME]` sections, sorted."""
    return sorted(_config()["sso_sessions"])


def print_profile_names(argv: list[str] | None = None) -> None:
    """`ssoexec __complete-profiles [--sso-sessions]`: the names, one a line. argv is what
    follows the hook on the command line (by default, read from sys.argv)."""
    args = sys.argv[2:] if argv is None else argv
    names = sso_session_names() if SSO_SESSIONS in args else profile_names()
    sys.stdout.write("".join(f"{name}\n" for name in names))
