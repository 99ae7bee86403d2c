"""Pure: what `ssoexec configure` will do with the AWS config, from what the portal lists.

A plan names a profile for every account and role (from the template, normalised and made
unique), finds those that are already there (to keep, or with `--update` to change), and gives
the sections to append and the keys to set. Nothing here reads a file or talks to AWS.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ssoexec.profile import DEFAULT_SCOPES, SsoSession
from ssoexec.terminal import printable

FIELDS = ("account_name", "account_id", "role_name", "sso_session")
OWNED_KEYS = ("sso_session", "sso_account_id", "sso_role_name", "region")
# Written in every profile configure adds (botocore ignores it): what `--prune` may remove.
MANAGED_KEY, MANAGED_VALUE = "ssoexec_managed", "true"


@dataclass(frozen=True, order=True)
class Assignment:
    """One account and role the portal lets the user sign in to."""

    account_id: str
    role_name: str
    account_name: str = ""


@dataclass(frozen=True)
class Entry:
    """What happens to one profile: "add", "update", "keep" (left as it is) or "remove"."""

    action: str
    name: str
    assignment: Assignment
    changes: tuple[tuple[str, str | None, str], ...] = ()  # (key, old value, new value)
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """The [sso-session] (to add when `new_session`), the region new profiles get, and what
    happens to each profile, in the order shown."""

    session: SsoSession
    new_session: bool
    region: str
    entries: tuple[Entry, ...]

    def of(self, action: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.action == action]

    @property
    def changes_file(self) -> bool:
        return self.new_session or any(e.action != "keep" for e in self.entries)


def build_plan(
    *,
    session: SsoSession,
    new_session: bool,
    assignments: Iterable[Assignment],
    config: dict,
    region: str,
    template: str,
    update: bool,
    prune: bool = False,
) -> Plan:
    """What to add, update and leave alone. A profile of any name that already signs in to the
    same start URL, account and role is "already there"; new names are made unique. With
    `prune`, profiles configure wrote for this sso-session whose account and role the portal no
    longer lists are removed."""
    profiles = config.get("profiles", {})
    there = existing_profiles(profiles, config.get("sso_sessions", {}), session.start_url)
    entries, wanted = [], []
    assignments = set(assignments)
    if prune:
        entries = _vanished(profiles, session.name or "", assignments)
    for assignment in sorted(assignments):
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


def existing_profiles(
    profiles: dict, sessions: dict, start_url: str
) -> dict[tuple[str, str], list[str]]:
    """(account id, role) -> the names of the profiles that sign in to it at `start_url`."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, values in sorted(profiles.items()):
        session = sessions.get(values.get("sso_session", ""), {})
        url = session.get("sso_start_url") if "sso_session" in values else None
        if not same_url(url or values.get("sso_start_url"), start_url):
            continue
        key = (str(values.get("sso_account_id", "")), str(values.get("sso_role_name", "")))
        found.setdefault(key, []).append(name)
    return found


def _vanished(profiles: dict, session_name: str, assignments: set[Assignment]) -> list[Entry]:
    """A "remove" entry for each profile configure wrote (it has the managed key) for this
    sso-session whose account and role are not among `assignments`."""
    listed = {(a.account_id, a.role_name) for a in assignments}
    entries = []
    for name, values in sorted(profiles.items()):
        if values.get(MANAGED_KEY) != MANAGED_VALUE or values.get("sso_session") != session_name:
            continue
        account, role = str(values.get("sso_account_id", "")), str(values.get("sso_role_name", ""))
        if (account, role) not in listed:
            entries.append(
                Entry("remove", name, Assignment(account, role), note="no longer listed")
            )
    return entries


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


# Names


def same_url(a: str | None, b: str | None) -> bool:
    """Whether two start URLs are the same portal (blanks and a trailing / aside)."""
    return bool(a and b) and a.strip().rstrip("/") == b.strip().rstrip("/")


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


# What the plan shows and writes


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
        sections[f"profile {entry.name}"] = {
            **dict(zip(OWNED_KEYS, (*values, plan.region), strict=True)),
            MANAGED_KEY: MANAGED_VALUE,
        }
    return sections


def removals(plan: Plan) -> list[str]:
    """The names of the profiles to remove."""
    return [e.name for e in plan.of("remove")]


def updates(plan: Plan) -> dict[str, dict[str, str]]:
    """Profile name -> keys to set, for each profile to update."""
    return {e.name: {key: new for key, _, new in e.changes} for e in plan.of("update")}


def summary(plan: Plan, path: Path, backup: Path | None) -> str:
    """What was done, once the file is written: the line said on stderr."""
    added, updated = len(plan.of("add")), len(plan.of("update"))
    removed = len(plan.of("remove"))
    parts = [f"[sso-session {plan.session.name}]"] if plan.new_session else []
    parts += [f"{added} profile{'s' * (added != 1)}"] if added else []
    text = f"added {' and '.join(parts)}" if parts else ""
    if updated:
        text += f"{', ' if text else ''}updated {updated} profile{'s' * (updated != 1)}"
    if removed:
        text += f"{', ' if text else ''}removed {removed} profile{'s' * (removed != 1)}"
    saved = f" (the old one is saved as {backup})" if backup else ""
    return f"{text} in {path}{saved}"
