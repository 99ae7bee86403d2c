"""What `ssoexec configure` is given: the options checked, the start URL and SSO region taken
from an existing [sso-session] or asked for, and the [sso-session] chosen or named."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from urllib.parse import urlsplit

from ssoexec.configure_plan import FIELDS, normalise, same_url, session_name_for
from ssoexec.errors import EXIT_USAGE, ConfigError, SsoexecError
from ssoexec.profile import DEFAULT_SCOPES, SsoSession, load_sso_session
from ssoexec.regions import is_region_name
from ssoexec.terminal import shorten

_SESSION_NAME = re.compile(r"[A-Za-z0-9._-]+")
_EXAMPLE = "ssoexec configure --start-url https://d-1234567890.awsapps.com/start --sso-region R"


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


def check_region(region: str | None, option: str) -> None:
    """A region name (as botocore's rule) in lower case, as configure writes it in the file."""
    if region is not None and not (is_region_name(region) and region == region.lower()):
        raise SsoexecError(
            f"{option} {shorten(region)!r} is not a region name",
            f"give {option} like us-east-1 or eu-west-1",
            exit_code=EXIT_USAGE,
        )


def check_start_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or re.search(r"\s", url):
        raise SsoexecError(
            f"the start URL {shorten(url)!r} is not an https:// URL",
            "copy it from the IAM Identity Center console (Settings: AWS access portal URL), "
            "e.g. https://d-1234567890.awsapps.com/start",
            exit_code=EXIT_USAGE,
        )


def settings(
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
            s for _, s in sorted(sessions.items()) if same_url(s.get("sso_start_url"), start_url)
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
    check_start_url(start_url)
    sso_region = (sso_region or ask("SSO region")).strip()
    check_region(sso_region, "--sso-region")
    return start_url, sso_region


def choose_session(
    config: dict, start_url: str, sso_region: str, name: str | None
) -> tuple[SsoSession, bool]:
    """The [sso-session] to use and whether it is new: --sso-session, else one with the same
    start URL, else a name made from the URL's host. An existing one must agree."""
    sessions = config.get("sso_sessions", {})
    if name is None:
        same = sorted(
            (values.get("sso_region") != sso_region, key)
            for key, values in sessions.items()
            if same_url(values.get("sso_start_url"), start_url)
        )
        name = same[0][1] if same else session_name_for(start_url)
    if name in sessions:
        session = load_sso_session(name, config)
        if not same_url(session.start_url, start_url) or session.region != sso_region:
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
