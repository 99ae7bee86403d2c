"""`ssoexec list --portal`: every account and role the portal offers for one [sso-session],
each with the profiles of the config that already sign in to it.

The listing comes from the portal (portal.list_assignments: within its rate limit, with
progress on a terminal, signing in where a person is there). Names come from the network, so
the table prints them only through `printable`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ssoexec.aws_files import config_path
from ssoexec.clients import Aws
from ssoexec.configure_plan import Assignment, existing_profiles
from ssoexec.errors import EXIT_USAGE, ConfigError, SsoexecError
from ssoexec.listing import aligned, write_rows
from ssoexec.portal import list_assignments
from ssoexec.profile import SsoSession, load_config, load_sso_session
from ssoexec.terminal import printable, say, shorten


@dataclass(frozen=True)
class PortalRow:
    """One account and role the portal offers; `profiles` are those set up for it."""

    account: str
    account_name: str
    role: str
    profiles: list[str]


COLUMNS = (("ACCOUNT", "account"), ("ACCOUNT NAME", "account_name"), ("ROLE", "role"))


def list_portal(sso_session: str | None, *, as_json: bool) -> None:
    """Print the portal's accounts and roles for the session: a table, or a JSON list."""
    aws = Aws()
    config = load_config(aws)
    session = choose_session(config, sso_session)
    rows = portal_rows(list_assignments(session, False, aws), config, session)
    if not rows:
        say(f"the portal of sso-session {session.name} lists no account or role")
    write_rows(rows, table(rows), as_json=as_json)


def choose_session(config: dict, name: str | None) -> SsoSession:
    """--sso-session NAME, else the config's only [sso-session]."""
    sessions = sorted(config.get("sso_sessions", {}))
    if name is None:
        if not sessions:
            raise ConfigError(
                f"no [sso-session] in {config_path()} to list the portal of",
                "run `ssoexec configure` to write one",
            )
        if len(sessions) > 1:
            raise SsoexecError(
                f"{len(sessions)} sso-sessions in {config_path()}; which portal to list?",
                "give --sso-session with one of: " + ", ".join(shorten(s) for s in sessions),
                exit_code=EXIT_USAGE,
            )
        name = sessions[0]
    return load_sso_session(name, config)


def portal_rows(
    assignments: list[Assignment], config: dict, session: SsoSession
) -> list[PortalRow]:
    """One row per assignment, sorted by account then role, with the profiles that sign in
    to it through the session's start URL (an sso_session profile or a legacy one)."""
    existing = existing_profiles(
        config.get("profiles", {}), config.get("sso_sessions", {}), session.start_url
    )
    return [
        PortalRow(
            a.account_id,
            a.account_name,
            a.role_name,
            existing.get((a.account_id, a.role_name), []),
        )
        for a in sorted(assignments)
    ]


def table(rows: list[PortalRow]) -> str:
    """Aligned columns under a header; the profiles last, "-" for none."""
    cells = [[title for title, _ in COLUMNS] + ["PROFILES"]]
    for row in rows:
        values = asdict(row)
        line = [printable(values[key]) or "-" for _, key in COLUMNS]
        cells.append([*line, printable(", ".join(row.profiles)) or "-"])
    return aligned(cells)
