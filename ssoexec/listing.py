"""`ssoexec list`: every profile of the config and credentials files, what kind it is, what
it signs in to and the state of that sign-in, from local files only.

No network call and no token refresh: the token is read from the AWS CLI cache as it is. A
profile that cannot be resolved is listed too, as kind "invalid" with the reason; only a config
file that does not parse at all is an error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

from ssoexec import token_cache
from ssoexec.aws_files import config_path
from ssoexec.clients import Aws
from ssoexec.errors import ConfigError
from ssoexec.profile import (
    BotocoreProfile,
    Profile,
    RoleChainProfile,
    SsoProfile,
    SsoSession,
    load_config,
    load_profile,
    sso_root,
)
from ssoexec.terminal import printable, say
from ssoexec.timestamps import format_timestamp, minutes_left, utcnow


@dataclass(frozen=True)
class Row:
    """One profile, as printed. None prints as "-" in the table and null in JSON."""

    name: str
    kind: str
    account: str | None = None
    role: str | None = None
    sso_session: str | None = None  # the sso-session name, or a legacy profile's start URL
    region: str | None = None
    source_profile: str | None = None  # a role chain's source_profile
    token: str = "-"  # the SSO token's state (a chain's: its root's); "-" without SSO
    token_expires: str | None = None
    error: str | None = None  # why an "invalid" profile cannot be used


COLUMNS = (
    ("NAME", "name"),
    ("KIND", "kind"),
    ("ACCOUNT", "account"),
    ("ROLE", "role"),
    ("SSO SESSION", "sso_session"),
    ("REGION", "region"),
    ("SOURCE", "source_profile"),
    ("TOKEN", "token"),
)


def list_profiles(*, as_json: bool) -> None:
    """Print every profile, sorted by name: a table, or a JSON list with `as_json`."""
    rows = profile_rows()
    if not rows:
        say(f"no profiles in {config_path()} (`ssoexec configure` writes them)")
    write_rows(rows, table(rows), as_json=as_json)


def profile_rows(config: dict | None = None) -> list[Row]:
    """One row per profile of the config (and credentials file), sorted by name."""
    config = load_config(Aws()) if config is None else config
    tokens = _TokenStates()
    rows = []
    for name in sorted(config.get("profiles", {})):
        try:
            profile = load_profile(name, config)
        except ConfigError as error:
            values = config["profiles"][name]
            rows.append(Row(name, "invalid", region=values.get("region"), error=error.message))
            continue
        rows.append(_row(profile, config["profiles"][name], tokens))
    return rows


def _row(profile: Profile, values: dict, tokens: _TokenStates) -> Row:
    region = profile.region
    if isinstance(profile, SsoProfile):
        token, expires = tokens.state(profile.session)
        return Row(
            profile.name,
            profile.kind,
            profile.account_id,
            profile.role_name,
            _session_label(profile.session),
            region,
            token=token,
            token_expires=expires,
        )
    account, role = _from_role_arn(values.get("role_arn"))
    if isinstance(profile, RoleChainProfile):
        root = sso_root(profile)
        session = root.session if root is not None else None
        token, expires = tokens.state(session) if session else ("-", None)
        return Row(
            profile.name,
            profile.kind,
            account,
            role,
            _session_label(session) if session else None,
            region,
            source_profile=values.get("source_profile"),
            token=token,
            token_expires=expires,
        )
    assert isinstance(profile, BotocoreProfile)
    return Row(profile.name, profile.kind, account, role, region=region)


def _session_label(session: SsoSession) -> str:
    return session.name or session.start_url


def _from_role_arn(arn: str | None) -> tuple[str | None, str | None]:
    """arn:aws:iam::333333333333:role/path/Deployer -> ("333333333333", "Deployer")."""
    parts = (arn or "").split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None, None
    return parts[4] or None, parts[5].rsplit("/", 1)[-1] or None


class _TokenStates:
    """Each token file read once, however many profiles share its session."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str | None]] = {}

    def state(self, session: SsoSession) -> tuple[str, str | None]:
        key = session.cache_key
        if key not in self._seen:
            self._seen[key] = token_state(session)
        return self._seen[key]


def token_state(session: SsoSession) -> tuple[str, str | None]:
    """("valid for N min" | "expired" | "missing" | "unreadable: why", expiry or None)."""
    try:
        token = token_cache.read_token(token_cache.cache_path(session.cache_key))
    except ConfigError as error:
        return f"unreadable: {error.message}", None
    if token is None:
        return "missing", None
    expires = format_timestamp(token.expires_at)
    if token.expires_at <= utcnow():
        return "expired", expires
    return f"valid for {minutes_left(token.expires_at)} min", expires


def table(rows: list[Row]) -> str:
    """Aligned columns under a header; an invalid profile's reason in the last column."""
    cells = [[title for title, _ in COLUMNS]]
    for row in rows:
        values = asdict(row)
        line = ["-" if values[key] is None else printable(values[key]) for _, key in COLUMNS]
        if row.error is not None:
            line[-1] = f"error: {printable(row.error)}"
        cells.append(line)
    return aligned(cells)


def aligned(cells: list[list[str]]) -> str:
    """Rows of cells as text columns two spaces apart; the last column is not padded."""
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]) - 1)]
    lines = (
        "  ".join([*(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)), line[-1]])
        for line in cells
    )
    return "".join(line.rstrip() + "\n" for line in lines)


def write_rows(rows: list, text: str, *, as_json: bool) -> None:
    """`rows` as one JSON list on stdout with `as_json`, else `text` (their table)."""
    if as_json:
        sys.stdout.write(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
    else:
        sys.stdout.write(text)
