"""`ssoexec configure`: an [sso-session] and one profile per account and role the portal lists.

The config is read with botocore's loader to know what is there, and written as text: new
sections are appended, and `--update` changes single `key = value` lines of a profile. The file
is never re-serialised, so the user's comments, order and spacing stay byte for byte. Before a
change the old file is copied beside it; the new one is checked to read back (with botocore) as
planned, then replaces the old atomically, keeping its mode.

The stages, each in its own module: configure_input (the options, checked or asked for),
portal (the accounts and roles), configure_plan (pure: names, collisions, sections) and
config_file (the text and its safe replacement).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ssoexec import config_file
from ssoexec.aws_files import config_path
from ssoexec.clients import Aws
from ssoexec.configure_input import check_region, check_template, choose_session, settings
from ssoexec.configure_plan import (
    Plan,
    build_plan,
    format_plan,
    new_sections,
    removals,
    summary,
    updates,
)
from ssoexec.portal import list_assignments
from ssoexec.profile import load_config
from ssoexec.terminal import say
from ssoexec.timestamps import utcnow

log = logging.getLogger(__name__)


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
    prune: bool = False,
) -> None:
    """Plan the sections for every account and role, print the plan, and (unless `dry_run`)
    append them to the AWS config. Signs in first if there is no valid token and a person."""
    check_template(profile_template)
    check_region(region, "--region")
    path = Path(os.path.realpath(config_path()))
    config_file.check_location(path)
    original = config_file.read(path)
    aws = Aws()  # no profile: configure writes them (AWS_PROFILE may name one not there yet)
    config = load_config(aws)
    start_url, sso_region = settings(config, start_url, sso_region, sso_session, ask)
    session, new_session = choose_session(config, start_url, sso_region, sso_session)
    assignments = list_assignments(session, new_session, aws)
    plan = build_plan(
        session=session,
        new_session=new_session,
        assignments=assignments,
        config=config,
        region=region or session.region,
        template=profile_template,
        update=update,
        prune=prune,
    )
    if dry_run or not plan.changes_file:
        sys.stdout.write(format_plan(plan))
        say(f"dry run: {path} not changed" if dry_run else f"nothing to change in {path}")
    else:
        backup = _write(path, original, plan)
        sys.stdout.write(format_plan(plan))
        sys.stdout.flush()
        say(summary(plan, path, backup))
        if plan.of("add"):
            say(f"try one: ssoexec -p {plan.of('add')[0].name} -- aws sts get-caller-identity")


def _write(path: Path, original: bytes | None, plan: Plan) -> Path | None:
    """The plan into the file's text, written safely; the backup of the old file, if any."""
    expected = config_file.Expected(
        added=new_sections(plan), updates=updates(plan), removed=tuple(removals(plan))
    )
    text = config_file.decode(original or b"")
    new = config_file.new_text(
        text,
        expected.added,
        config_file.edits_for(text, expected.updates),
        today=utcnow().strftime("%Y-%m-%d"),
        removed=config_file.removed_for(text, expected.removed),
    )
    return config_file.write_config(
        path, original, new.encode("utf-8", "surrogateescape"), expected
    )
