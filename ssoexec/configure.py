"""`ssoexec configure`: an [sso-session] and one profile per account and role the portal lists.

The config is read with botocore's loader to know what is there, and written as text: new
sections are appended, and `--update` changes single `key = value` lines of a profile. The file
is never re-serialised, so the user's comments, order and spacing stay byte for byte. Before a
change the old file is copied beside it; the new one is checked to read back (with botocore) as
planned, then replaces the old atomically, keeping its mode.
"""

from __future__ import annotations

import logging
import os
import re
import string
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ssoexec import config_file
from ssoexec.errors import EXIT_USAGE, ConfigError, LoginRequired, SsoexecError
from ssoexec.profile import DEFAULT_SCOPES, SsoSession
from ssoexec.regions import is_region_name
from ssoexec.terminal import printable, say, shorten

if TYPE_CHECKING:
    from ssoexec.clients import Aws

log = logging.getLogger(__name__)

FIELDS = ("account_name", "account_id", "role_name", "sso_session")
OWNED_KEYS = ("sso_session", "sso_account_id", "sso_role_name", "region")
_SESSION_NAME = re.compile(r"[A-Za-z0-9._-]+")
_EXAMPLE = "ssoexec configure --start-url https://d-1234567890.awsapps.com/start --sso-region R"


@dataclass(frozen=True, order=True)
class Assignment:
    """One account and role the portal lets the user sign in to."""

    account_id: str
    role_name: str
    account_name: str = ""


@dataclass(frozen=True)
class Entry:
    """What happens to one profile: "add", "update" or "keep" (left as it is)."""

    action: str
    name: str
    assignment: Assignment
    changes: tuple[tuple[str, str | None, str], ...] = ()  # (key, old value, new value)
    note: str = ""


@dataclass(frozen=True)
class Plan:
    session: SsoSession
    new_session: bool
    region: str
    entries: tuple[Entry, ...]

    def of(self, action: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.action == action]

    @property
    def changes_file(self) -> bool:
        return self.new_session or any(e.action in ("add", "update") for e in self.entries)


def configure(
    *,
    start_url: str | None,
    sso_region: str | None,
    sso_session: str | None,
    region: str | None,
    profile_template: str,
    dry_run: bool,
    update: bool,
    ask: Callable[[str], str] | None,
) -> None:
    """Plan the sections for every account and role, print the plan, and (unless `dry_run`)
    append them to the AWS config. Signs in first if there is no valid token and a person."""
    from ssoexec.clients import Aws
    from ssoexec.profile import config_path, load_config
    from ssoexec.timestamps import utcnow

    check_template(profile_template)
    _check_region(region, "--region")
    path = Path(os.path.realpath(config_path()))
    config_file.check_location(path)
    original = config_file.read(path)
    aws = Aws()  # no profile: configure writes them (AWS_PROFILE may name one not there yet)
    config = load_config(aws)
    start_url, sso_region = _settings(config, start_url, sso_region, sso_session, ask)
    session, new_session = choose_session(config, start_url, sso_region, sso_session)
    assignments = _fetch_assignments(session, new_session, aws)
    plan = build_plan(
        session=session,
        new_session=new_session,
        assignments=assignments,
        config=config,
        region=region or session.region,
        template=profile_template,
        update=update,
    )
    if dry_run or not plan.changes_file:
        sys.stdout.write(format_plan(plan))
        say(f"dry run: {path} not changed" if dry_run else f"nothing to change in {path}")
    else:
        expected = config_file.Expected(added=new_sections(plan), updates=_updates(plan))
        text = config_file.decode(original or b"")
        new = config_file.new_text(
            text,
            expected.added,
            config_file.edits_for(text, expected.updates),
            today=utcnow().strftime("%Y-%m-%d"),
        )
        backup = config_file.write_config(
            path, original, new.encode("utf-8", "surrogateescape"), expected
        )
        sys.stdout.write(format_plan(plan))
        sys.stdout.flush()
        say(_summary(plan, path, backup))
        if plan.of("add"):
            say(f"try one: ssoexec -p {plan.of('add')[0].name} -- aws sts get-caller-identity")


# Inputs


def check_template(template: str) -> None:
    """Usage error (exit 2) unless `template` uses only the known {fields}."""
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template)]
        fields = [f for f, _, _ in parts if f is not None]
        unknown = next((f for f in fields if f not in FIELDS), None)
        styled = next((f for f, spec, conv in parts if spec or conv), None)
        if unknown is not None:
            problem = f"an unknown field {{{shorten(unknown)}}}"
        elif styled is not None:  # {account_name:>300000000} would build a 300 MB name
            problem = f"a format spec or conversion after {{{styled}}}, which names do not take"
        else:
            template.format(**dict.fromkeys(FIELDS, "x"))
            return
    except (ValueError, IndexError, KeyError) as error:
        problem = f"a mistake: {shorten(error)}"
    raise SsoexecError(
        f"--profile-template {shorten(template)!r} has {problem}",
        "use " + ", ".join("{" + name + "}" for name in FIELDS),
        exit_code=EXIT_USAGE,
    )


def _check_region(region: str | None, option: str) -> None:
    """A region name (as botocore's rule) in lower case, as configure writes it in the file."""
    if region is not None and not (is_region_name(region) and region == region.lower()):
        raise SsoexecError(
            f"{option} {shorten(region)!r} is not a region name",
            f"give {option} like us-east-1 or eu-west-1",
            exit_code=EXIT_USAGE,
        )


def _check_start_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or re.search(r"\s", url):
        raise SsoexecError(
            f"the start URL {shorten(url)!r} is not an https:// URL",
            "copy it from the IAM Identity Center console (Settings: AWS access portal URL), "
            "e.g. https://d-1234567890.awsapps.com/start",
            exit_code=EXIT_USAGE,
        )


def _settings(
    config: dict,
    start_url: str | None,
    sso_region: str | None,
    sso_session: str | None,
    ask: Callable[[str], str] | None,
) -> tuple[str, str]:
    """Start URL and SSO region: from the options, an existing [sso-session], or asked."""
    sessions = config.get("sso_sessions", {})
    known = sessions.get(sso_session) if sso_session else None
    if known is None and start_url and not sso_region:
        same = (
            s for _, s in sorted(sessions.items()) if _same_url(s.get("sso_start_url"), start_url)
        )
        known = next(same, None)
    if known is not None:
        start_url = start_url or known.get("sso_start_url")
        sso_region = sso_region or known.get("sso_region")
    if not (start_url and sso_region) and ask is None:
        missing = " and ".join(
            option
            for option, value in (("--start-url", start_url), ("--sso-region", sso_region))
            if not value
        )
        raise SsoexecError(
            f"no {missing} given, and no terminal to ask for them",
            f"give {missing}: `{_EXAMPLE}`",
        )
    start_url = (start_url or ask("SSO start URL")).strip()
    _check_start_url(start_url)
    sso_region = (sso_region or ask("SSO region")).strip()
    _check_region(sso_region, "--sso-region")
    return start_url, sso_region


def _same_url(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().rstrip("/") == b.strip().rstrip("/")


def choose_session(
    config: dict, start_url: str, sso_region: str, name: str | None
) -> tuple[SsoSession, bool]:
    """The [sso-session] to use and whether it is new: --sso-session, else one with the same
    start URL, else a name made from the URL's host. An existing one must agree."""
    from ssoexec.profile import load_sso_session

    sessions = config.get("sso_sessions", {})
    if name is None:
        same = sorted(
            (values.get("sso_region") != sso_region, key)
            for key, values in sessions.items()
            if _same_url(values.get("sso_start_url"), start_url)
        )
        name = same[0][1] if same else session_name_for(start_url)
    if name in sessions:
        session = load_sso_session(name, config)
        if not _same_url(session.start_url, start_url) or session.region != sso_region:
            raise ConfigError(
                f"sso-session {shorten(name)!r} already exists with start URL "
                f"{shorten(session.start_url)} and region {shorten(session.region)}, "
                f"not {shorten(start_url)} and {shorten(sso_region)}",
                "name another one with --sso-session NAME, or give the start URL and region "
                f"of [sso-session {shorten(name)}]",
            )
        return session, False
    if not _SESSION_NAME.fullmatch(name):
        raise SsoexecError(
            f"--sso-session {shorten(name)!r} is not a usable section name",
            f"use letters, digits, '.', '_' and '-', e.g. {shorten(normalise(name)) or 'corp'}",
            exit_code=EXIT_USAGE,
        )
    return SsoSession(start_url, sso_region, name, DEFAULT_SCOPES), True


def session_name_for(start_url: str) -> str:
    """d-1234567890 for https://d-1234567890.awsapps.com/start; the host's first label,
    or the path's first useful part for a host every instance shares."""
    parts = urlsplit(start_url)
    label = (parts.hostname or "").split(".")[0]
    if label in ("", "start", "www", "identitycenter", "portal", "signin"):
        words = [w for w in parts.path.split("/") if w and w not in ("start", "directory")]
        label = words[0] if words else "sso"
    return normalise(label) or "sso"


def normalise(text: str) -> str:
    """Lowercase; whitespace and anything outside [a-z0-9._-] to '-', squeezed, stripped."""
    text = re.sub(r"[^a-z0-9._-]", "-", text.lower())
    return re.sub(r"-{2,}", "-", text).strip("-")


# The portal


def _fetch_assignments(session: SsoSession, new_session: bool, aws: Aws) -> list[Assignment]:
    """Every account and role, with a valid token (signed in if need be and possible). A token
    the portal refuses (401) gets one refresh or sign-in, then the listing again."""
    from ssoexec import sso_token
    from ssoexec.choices import person_there

    login = (lambda session: _sign_in(session, aws)) if person_there() else None
    try:
        token = sso_token.load_valid_token(session, aws, login=login)
        try:
            return fetch_assignments(session, token.access_token, aws)
        except _Refused:
            token = sso_token.load_valid_token(session, aws, login=login, refused=token)
        try:
            return fetch_assignments(session, token.access_token, aws)
        except _Refused:
            reason = "was refused by AWS SSO (signed out or revoked)"
            raise sso_token.login_required(session, None, reason) from None
    except LoginRequired as error:
        if not new_session:
            raise
        raise SsoexecError(
            error.message,
            "run `ssoexec configure` at a terminal (not in CI) to sign in to "
            f"{shorten(session.start_url)}",
        ) from None


def _sign_in(session: SsoSession, aws: Aws):
    from ssoexec.login import sign_in

    return sign_in(session, aws)


class _Refused(Exception):
    """The portal answered 401 to the token."""


def fetch_assignments(session: SsoSession, access_token: str, aws: Aws) -> list[Assignment]:
    """ListAccounts, then ListAccountRoles for each account, every page of both."""
    from ssoexec import clients

    found: set[Assignment] = set()
    with clients.translate_errors(
        "listing your accounts and roles (AWS SSO ListAccounts, ListAccountRoles)",
        denied_hint="ask your administrator to assign you an account in IAM Identity Center",
    ):
        client = aws.sso(session.region)
        try:
            accounts = _every_item(client, "list_accounts", "accountList", accessToken=access_token)
            for account in accounts:
                roles = _every_item(
                    client,
                    "list_account_roles",
                    "roleList",
                    accessToken=access_token,
                    accountId=account["accountId"],
                )
                name = account.get("accountName") or ""
                found.update(Assignment(account["accountId"], r["roleName"], name) for r in roles)
        except client.exceptions.UnauthorizedException:
            raise _Refused from None
    log.debug("the portal lists %d account(s), %d role(s)", len(accounts), len(found))
    for assignment in found:  # they go into the file; AWS allows no such characters in them
        for what, value in (("account id", assignment.account_id), ("role", assignment.role_name)):
            if printable(value) != value or not value.strip():
                raise SsoexecError(
                    f"AWS SSO listed a {what} {shorten(value)!r} that cannot go into the "
                    "AWS config (control characters or blank)",
                    "nothing was changed; check AWS_ENDPOINT_URL_SSO, or report it to your "
                    "administrator",
                )
    return sorted(found)


def _every_item(client, operation: str, key: str, **params) -> list[dict]:
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]


# The plan (pure)


def build_plan(
    *,
    session: SsoSession,
    new_session: bool,
    assignments: Iterable[Assignment],
    config: dict,
    region: str,
    template: str,
    update: bool,
) -> Plan:
    """What to add, update and leave alone. A profile of any name that already signs in to the
    same start URL, account and role is "already there"; new names are made unique."""
    profiles = config.get("profiles", {})
    there = _existing(profiles, config.get("sso_sessions", {}), session.start_url)
    entries, wanted = [], []
    for assignment in sorted(set(assignments)):
        names = there.get((assignment.account_id, assignment.role_name))
        if not names:
            wanted.append(assignment)
        for name in names or ():
            entries.append(
                _existing_entry(name, profiles[name], assignment, session, region, update)
            )
    names = unique_names(wanted, template, session.name or "", taken=set(profiles))
    for assignment in wanted:
        name = names[assignment]
        base = base_name(template, assignment, session.name or "")
        note = f"{base} is taken by another profile" if name != base and base in profiles else ""
        entries.append(Entry("add", name, assignment, note=note))
    entries.sort(key=lambda e: (e.assignment.account_name.lower(), e.assignment, e.name))
    return Plan(session, new_session, region, tuple(entries))


def _existing(profiles: dict, sessions: dict, start_url: str) -> dict[tuple[str, str], list[str]]:
    """(account id, role) -> the names of the profiles that sign in to it at `start_url`."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, values in sorted(profiles.items()):
        session = sessions.get(values.get("sso_session", ""), {})
        url = session.get("sso_start_url") if "sso_session" in values else None
        if not _same_url(url or values.get("sso_start_url"), start_url):
            continue
        key = (str(values.get("sso_account_id", "")), str(values.get("sso_role_name", "")))
        found.setdefault(key, []).append(name)
    return found


def _existing_entry(
    name: str, values: dict, assignment: Assignment, session: SsoSession, region: str, update: bool
) -> Entry:
    if values.get("sso_session") != session.name:
        how = f"sso-session {values['sso_session']}" if "sso_session" in values else "legacy SSO"
        return Entry("keep", name, assignment, note=f"already set up ({how})")
    ids = (session.name, assignment.account_id, assignment.role_name, region)
    wanted = dict(zip(OWNED_KEYS, ids, strict=True))
    changes = tuple((k, values.get(k), v) for k, v in wanted.items() if values.get(k) != v)
    if not changes:
        return Entry("keep", name, assignment, note="already set up")
    if update:
        return Entry("update", name, assignment, changes)
    shown = ", ".join(f"{k} = {v}" for k, _, v in changes)
    return Entry("keep", name, assignment, changes, note=f"already set up; --update sets {shown}")


def base_name(template: str, assignment: Assignment, session_name: str) -> str:
    name = normalise(
        template.format(
            account_name=assignment.account_name,
            account_id=assignment.account_id,
            role_name=assignment.role_name,
            sso_session=session_name,
        )
    )
    return name or normalise(f"{assignment.account_id}-{assignment.role_name}")


def unique_names(
    assignments: list[Assignment], template: str, session_name: str, *, taken: set[str]
) -> dict[Assignment, str]:
    """A name per assignment, from the template. Where two assignments share a name, or an
    existing profile has it, -<account id> is appended, then a counter. The result depends on
    the assignments, not on the order the portal listed them in."""
    bases = {a: base_name(template, a, session_name) for a in assignments}
    shared = Counter(bases.values())
    used, names = set(taken), {}
    for assignment in sorted(assignments):
        base = bases[assignment]
        if shared[base] > 1 or base in used:
            base = f"{base}-{assignment.account_id}"
        name, counter = base, 2
        while name in used:
            name, counter = f"{base}-{counter}", counter + 1
        used.add(name)
        names[assignment] = name
    return names


def format_plan(plan: Plan) -> str:
    """One line per section: action, section, account id, role, then account name and notes."""
    rows = []
    for e in plan.entries:
        if e.action == "update":
            notes = [f"{key}: {old or '-'} -> {new}" for key, old, new in e.changes]
        elif e.action == "add":
            notes = [f"region {plan.region}", *([e.note] if e.note else [])]
        else:
            notes = [e.note]
        about = "; ".join(
            [e.assignment.account_name, *notes] if e.assignment.account_name else notes
        )
        rows.append(
            (
                e.action,
                f"[profile {printable(e.name)}]",
                printable(e.assignment.account_id),
                printable(e.assignment.role_name),
                printable(about),
            )
        )
    session = plan.session
    first = ("add" if plan.new_session else "keep", f"[sso-session {printable(session.name)}]")
    widths = [max(len(row[i]) for row in [first, *rows]) for i in range(2)]
    widths += [max((len(row[i]) for row in rows), default=0) for i in (2, 3)]
    lines = [
        f"{first[0]:<{widths[0]}}  {first[1]:<{widths[1]}}  "
        f"{printable(session.start_url)}  {printable(session.region)}"
    ]
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        lines.append(f"{cells}  {row[4]}".rstrip())
    return "".join(line + "\n" for line in lines)


# The text (pure)


def new_sections(plan: Plan) -> dict[str, dict[str, str]]:
    """Section name -> keys, for each section to append, in order."""
    sections = {}
    session = plan.session
    if plan.new_session:
        sections[f"sso-session {session.name}"] = {
            "sso_start_url": session.start_url,
            "sso_region": session.region,
            "sso_registration_scopes": ",".join(session.scopes or DEFAULT_SCOPES),
        }
    for entry in plan.of("add"):
        values = (session.name, entry.assignment.account_id, entry.assignment.role_name)
        sections[f"profile {entry.name}"] = dict(
            zip(OWNED_KEYS, (*values, plan.region), strict=True)
        )
    return sections


def _updates(plan: Plan) -> dict[str, dict[str, str]]:
    """Profile name -> keys to set, for each profile to update."""
    return {e.name: {key: new for key, _, new in e.changes} for e in plan.of("update")}


def _summary(plan: Plan, path: Path, backup: Path | None) -> str:
    added, updated = len(plan.of("add")), len(plan.of("update"))
    parts = [f"[sso-session {plan.session.name}]"] if plan.new_session else []
    parts += [f"{added} profile{'s' * (added != 1)}"] if added else []
    text = f"added {' and '.join(parts)}" if parts else ""
    if updated:
        text += f"{', ' if text else ''}updated {updated} profile{'s' * (updated != 1)}"
    saved = f" (the old one is saved as {backup})" if backup else ""
    return f"{text} in {path}{saved}"
