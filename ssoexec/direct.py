"""A role named on the command line instead of by a profile: `--sso-session NAME --account ID
[--role NAME]`. Pure and light (the console script's fast path reads it before botocore).

`target_from_options` turns the options into a `DirectTarget` (or None when none was given),
refusing every mix that cannot be meant; resolve.py then makes an SSO profile of it from the
[sso-session] section, so the token cache, refresh, lock and sign-in are that session's, shared
with its profiles. The command sees SSOEXEC_PROFILE=<session>/<account>/<role>: a nested run
naming the same target reuses what it was given, as a nested `-p dev` does.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from ssoexec.errors import EXIT_USAGE, SsoexecError
from ssoexec.terminal import shorten

SEPARATOR = "/"
# What IAM Identity Center allows in a permission set's name (its pattern [\w+=,.@-]+, at most
# 32 characters), a little more lenient on the length: never a "/" or a control character.
_ROLE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_SHOWN_ROLES = 10  # roles named in an "ambiguous" error


@dataclass(frozen=True)
class DirectTarget:
    """An account and role of an [sso-session], named directly; `role` None: the account's
    only role, found with the portal."""

    session: str
    account_id: str
    role: str | None = None

    @property
    def name(self) -> str:
        """What the command sees as SSOEXEC_PROFILE: <session>/<account>/<role> (the role
        left empty until it is known)."""
        return SEPARATOR.join((self.session, self.account_id, self.role or ""))

    def with_role(self, role: str) -> DirectTarget:
        return DirectTarget(self.session, self.account_id, role)

    def inherited_name(self, parent: Mapping[str, str], marker: str) -> str:
        """The name to run as: with no role given, the one an outer ssoexec for this session
        and account picked (in `parent`'s `marker` variable), if it was one; else `name`."""
        if self.role is None:
            outer = parent.get(marker) or ""
            prefix = self.name
            if outer.startswith(prefix) and is_role_name(outer[len(prefix) :]):
                return outer
        return self.name

    def options(self) -> str:
        """The options that name it again, for a command line shown to the user."""
        words = ["--sso-session", self.session, "--account", self.account_id]
        if self.role is not None:
            words += ["--role", self.role]
        return shlex.join(words)


def is_role_name(text: str) -> bool:
    return bool(_ROLE_NAME.fullmatch(text))


def target_from_options(
    *,
    profile_given: bool,
    sso_session: str | None,
    account: str | None,
    role: str | None,
) -> DirectTarget | None:
    """The target --sso-session/--account/--role name, or None when none of them is given.
    `profile_given`: -p/--profile was on the command line too (AWS_PROFILE does not count).
    Every mistake is a usage error, found before anything is read or called."""
    if sso_session is None and account is None and role is None:
        return None
    if profile_given:
        raise _usage("give -p or --sso-session with --account, not both")
    if account is None:
        if role is not None:
            raise _usage("--role needs --account (the account the role is in)")
        raise _usage(
            "--sso-session needs --account (and --role) to run a command",
            f"`ssoexec list --portal --sso-session {shlex.quote(sso_session or '')}` shows "
            "the accounts and roles you can use",
        )
    if sso_session is None:
        raise _usage("--account needs --sso-session (the [sso-session] to sign in with)")
    if not _ACCOUNT_ID.fullmatch(account):
        raise _usage(
            f"--account {shorten(account)!r} is not an AWS account id",
            "give the account's 12 digits, e.g. --account 111111111111",
        )
    if role is not None and not is_role_name(role):
        raise _usage(
            f"--role {shorten(role)!r} is not a role name",
            "give the permission set's name (letters, digits and _+=,.@-), e.g. --role Admin",
        )
    return DirectTarget(sso_session, account, role)


def _usage(message: str, hint: str = "see `ssoexec --help`") -> SsoexecError:
    return SsoexecError(message, hint, exit_code=EXIT_USAGE)


def _list_hint(session: str) -> str:
    return (
        f"`ssoexec list --portal --sso-session {shlex.quote(session)}` shows the accounts "
        "and roles you can use"
    )


def no_access(session: str, account_id: str, role: str | None = None) -> SsoexecError:
    """The portal's "No access": the account, or the role in it, is not assigned to you."""
    in_role = f"role {shorten(role)} in " if role else ""
    return SsoexecError(
        f"no access to {in_role}account {account_id} through sso-session {shorten(session)!r}",
        _list_hint(session),
    )


def ambiguous(target: DirectTarget, roles: list[str]) -> SsoexecError:
    """More than one role in the account, and --role did not say which."""
    shown = ", ".join(shorten(role, 40) for role in roles[:_SHOWN_ROLES])
    if len(roles) > _SHOWN_ROLES:
        shown += f" and {len(roles) - _SHOWN_ROLES} more"
    return SsoexecError(
        f"account {target.account_id} has {len(roles)} roles for you through sso-session "
        f"{shorten(target.session)!r} ({shown}): which one?",
        f"add --role with one of them; {_list_hint(target.session)}",
        exit_code=EXIT_USAGE,
    )
