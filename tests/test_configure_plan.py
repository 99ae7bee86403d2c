"""The configure plan (ssoexec.configure_plan), pure: built from literal config data as
botocore's loader returns it and a literal listing, with no file, no emulator and no AWS."""

from pathlib import Path

import pytest

from ssoexec.configure_plan import (
    Assignment,
    Entry,
    Plan,
    build_plan,
    format_plan,
    new_sections,
    normalise,
    removals,
    session_name_for,
    summary,
    unique_names,
    updates,
)
from ssoexec.profile import SsoSession

START_URL = "https://d-1234567890.awsapps.com/start"
CORP = SsoSession(START_URL, "us-east-1", "corp", ("sso:account:access",))
SESSIONS = {
    "corp": {"sso_start_url": START_URL, "sso_region": "us-east-1"},
    "other": {"sso_start_url": START_URL + "/", "sso_region": "eu-west-1"},
    "elsewhere": {"sso_start_url": "https://other.awsapps.com/start", "sso_region": "us-east-1"},
}
DEV_ADMIN = Assignment("111111111111", "Admin", "Dev Account")
DEV_READ = Assignment("111111111111", "ReadOnly", "Dev Account")
PROD_ADMIN = Assignment("222222222222", "Admin", "Prod Account")
TEMPLATE = "{account_name}-{role_name}"


def sso_profile(session, account, role, region="us-east-1"):
    return {
        "sso_session": session,
        "sso_account_id": account,
        "sso_role_name": role,
        "region": region,
    }


def plan_for(
    profiles, assignments, *, new_session=False, region="us-east-1", update=False, prune=False
):
    return build_plan(
        session=CORP,
        new_session=new_session,
        assignments=assignments,
        config={"profiles": profiles, "sso_sessions": SESSIONS},
        region=region,
        template=TEMPLATE,
        update=update,
        prune=prune,
    )


def managed(session, account, role):
    return {**sso_profile(session, account, role), "ssoexec_managed": "true"}


def rows(plan):
    return [
        (e.action, e.name, e.assignment.account_id, e.assignment.role_name, e.note)
        for e in plan.entries
    ]


def test_an_empty_config_gets_a_profile_per_assignment_in_account_name_order():
    plan = plan_for({}, [PROD_ADMIN, DEV_READ, DEV_ADMIN, DEV_ADMIN], new_session=True)
    assert rows(plan) == [
        ("add", "dev-account-admin", "111111111111", "Admin", ""),
        ("add", "dev-account-readonly", "111111111111", "ReadOnly", ""),
        ("add", "prod-account-admin", "222222222222", "Admin", ""),
    ]
    assert plan.changes_file
    assert list(new_sections(plan)) == [
        "sso-session corp",
        "profile dev-account-admin",
        "profile dev-account-readonly",
        "profile prod-account-admin",
    ]
    assert new_sections(plan)["sso-session corp"] == {
        "sso_start_url": START_URL,
        "sso_region": "us-east-1",
        "sso_registration_scopes": "sso:account:access",
    }
    assert new_sections(plan)["profile prod-account-admin"] == {
        **sso_profile("corp", "222222222222", "Admin"),
        "ssoexec_managed": "true",  # what --prune may remove
    }


def test_a_taken_name_gets_the_account_id_and_a_note():
    plan = plan_for({"dev-account-admin": {"region": "eu-west-1"}}, [DEV_ADMIN])
    assert rows(plan) == [
        (
            "add",
            "dev-account-admin-111111111111",
            "111111111111",
            "Admin",
            "dev-account-admin is taken by another profile",
        )
    ]


def test_assignments_that_normalise_alike_all_get_their_account_id():
    a = Assignment("1", "Admin", "Team A")
    b = Assignment("2", "Admin", "team  a")
    c = Assignment("3", "Admin", "TEAM/A!")
    plan = plan_for({}, [c, a, b])
    assert sorted(e.name for e in plan.entries) == [
        "team-a-admin-1",
        "team-a-admin-2",
        "team-a-admin-3",
    ]
    assert all(e.note == "" for e in plan.entries)  # no existing profile had the name


def test_a_profile_already_there_under_any_name_is_kept():
    profiles = {
        "mine": sso_profile("corp", "111111111111", "Admin"),  # same session, nothing to change
        "old": {  # legacy SSO, same start URL
            "sso_start_url": START_URL,
            "sso_region": "us-east-1",
            "sso_account_id": "111111111111",
            "sso_role_name": "ReadOnly",
        },
        "twin": sso_profile("other", "222222222222", "Admin"),  # another session, same URL
        "far": sso_profile("elsewhere", "222222222222", "Admin"),  # another portal: not it
    }
    plan = plan_for(profiles, [DEV_ADMIN, DEV_READ, PROD_ADMIN])
    assert rows(plan) == [
        ("keep", "mine", "111111111111", "Admin", "already set up"),
        ("keep", "old", "111111111111", "ReadOnly", "already set up (legacy SSO)"),
        ("keep", "twin", "222222222222", "Admin", "already set up (sso-session other)"),
    ]
    assert not plan.changes_file
    assert new_sections(plan) == {} and updates(plan) == {}


def test_changed_keys_are_only_shown_without_update():
    profiles = {"dev": sso_profile("corp", "111111111111", "Admin", region="eu-west-1")}
    kept = plan_for(profiles, [DEV_ADMIN], region="ap-south-1")
    assert rows(kept) == [
        (
            "keep",
            "dev",
            "111111111111",
            "Admin",
            "already set up; --update sets region = ap-south-1",
        )
    ]
    assert not kept.changes_file and updates(kept) == {}


def test_update_sets_only_the_keys_configure_owns():
    profiles = {
        "dev": {
            **sso_profile("corp", "111111111111", "Admin", region="eu-west-1"),
            "output": "json",
        },
        "bare": {"sso_session": "corp", "sso_account_id": "222222222222", "sso_role_name": "Admin"},
    }
    plan = plan_for(profiles, [DEV_ADMIN, PROD_ADMIN], region="ap-south-1", update=True)
    assert [(e.action, e.name, e.changes) for e in plan.entries] == [
        ("update", "dev", (("region", "eu-west-1", "ap-south-1"),)),
        ("update", "bare", (("region", None, "ap-south-1"),)),
    ]
    assert plan.changes_file
    assert updates(plan) == {"dev": {"region": "ap-south-1"}, "bare": {"region": "ap-south-1"}}
    assert new_sections(plan) == {}


def test_format_plan_has_a_line_per_section_in_columns():
    profiles = {"dev": sso_profile("corp", "111111111111", "Admin", region="eu-west-1")}
    plan = plan_for(profiles, [DEV_ADMIN, PROD_ADMIN], update=True)
    assert format_plan(plan).splitlines() == [
        f"keep    [sso-session corp]            {START_URL}  us-east-1",
        "update  [profile dev]                 111111111111  Admin  "
        "Dev Account; region: eu-west-1 -> us-east-1",
        "add     [profile prod-account-admin]  222222222222  Admin  Prod Account; region us-east-1",
    ]


def test_format_plan_makes_listed_names_printable():
    evil = Assignment("1", "Admin\x1b[2J", "Ops\x07")
    plan = Plan(CORP, True, "us-east-1", (Entry("add", "ops", evil),))
    text = format_plan(plan)
    assert "\x1b" not in text and "\x07" not in text
    assert "Admin?[2J" in text and "Ops?" in text


def test_summary_says_what_was_written():
    plan = plan_for(
        {"dev": sso_profile("corp", "111111111111", "Admin", region="eu-west-1")},
        [DEV_ADMIN, DEV_READ, PROD_ADMIN],
        new_session=True,
        update=True,
    )
    config, backup = Path("/h/.aws/config"), Path("/h/.aws/config.ssoexec-backup-1")
    assert summary(plan, config, backup) == (
        "added [sso-session corp] and 2 profiles, updated 1 profile in /h/.aws/config "
        "(the old one is saved as /h/.aws/config.ssoexec-backup-1)"
    )
    assert summary(plan_for({}, [DEV_ADMIN]), config, None) == "added 1 profile in /h/.aws/config"


# Names


def test_normalise():
    assert normalise("  Dev Account/Admin!  ") == "dev-account-admin"
    assert normalise("Prod.EU_1 -- ReadOnly") == "prod.eu_1-readonly"
    assert normalise("日本 Admin") == "admin"
    assert normalise("***") == ""


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (START_URL, "d-1234567890"),
        ("https://MyCorp.awsapps.com/start/", "mycorp"),
        ("https://ssoins-7223b6a5b51a7fa2.portal.us-east-1.app.aws", "ssoins-7223b6a5b51a7fa2"),
        ("https://start.us-gov-home.awsapps.com/directory/d-906", "d-906"),
    ],
)
def test_session_name_from_the_start_url(url, name):
    assert session_name_for(url) == name


def test_unique_names_do_not_depend_on_the_listing_order():
    pairs = [
        Assignment("2", "Admin", "Ops"),
        Assignment("1", "Admin", "ops"),
        Assignment("1", "admin", "Ops"),
        Assignment("3", "Dev", "Ops"),
    ]
    names = unique_names(pairs, "{account_name}-{role_name}", "s", taken={"ops-dev"})
    assert names == unique_names(pairs[::-1], "{account_name}-{role_name}", "s", taken={"ops-dev"})
    assert names == {
        Assignment("1", "Admin", "ops"): "ops-admin-1",
        Assignment("1", "admin", "Ops"): "ops-admin-1-2",
        Assignment("2", "Admin", "Ops"): "ops-admin-2",
        Assignment("3", "Dev", "Ops"): "ops-dev-3",
    }


def test_a_template_that_normalises_to_nothing_falls_back_to_account_and_role():
    plan = build_plan(
        session=CORP,
        new_session=False,
        assignments=[Assignment("1", "Admin", "日本")],
        config={},
        region="us-east-1",
        template="{account_name}",
        update=False,
    )
    assert [e.name for e in plan.entries] == ["1-admin"]


# --prune


PRUNE_PROFILES = {
    "gone": managed("corp", "333333333333", "Admin"),  # written by configure, no longer listed
    "gone-role": managed("corp", "111111111111", "Retired"),
    "dev-account-admin": managed("corp", "111111111111", "Admin"),  # still listed
    "mine": sso_profile("corp", "444444444444", "Admin"),  # the user's own, same session
    "old": sso_profile("corp", "555555555555", "Admin"),  # an earlier version's: no key
    "other-session": managed("other", "666666666666", "Admin"),  # another session's
    "not-true": {**sso_profile("corp", "777777777777", "Admin"), "ssoexec_managed": "no"},
}


def test_prune_removes_only_managed_profiles_of_this_session_no_longer_listed():
    plan = plan_for(PRUNE_PROFILES, [DEV_ADMIN], prune=True)
    assert [
        (e.name, e.assignment.account_id, e.assignment.role_name) for e in plan.of("remove")
    ] == [
        ("gone-role", "111111111111", "Retired"),
        ("gone", "333333333333", "Admin"),
    ]
    assert [e.name for e in plan.of("keep")] == ["dev-account-admin"]
    assert plan.changes_file
    assert removals(plan) == ["gone-role", "gone"]
    shown = format_plan(plan).splitlines()
    assert [line.split()[:3] for line in shown if line.startswith("remove")] == [
        ["remove", "[profile", "gone-role]"],
        ["remove", "[profile", "gone]"],
    ]
    assert all("no longer listed" in line for line in shown if line.startswith("remove"))
    assert summary(plan, Path("/c"), None) == "removed 2 profiles in /c"


def test_without_prune_nothing_is_removed():
    plan = plan_for(PRUNE_PROFILES, [DEV_ADMIN])
    assert plan.of("remove") == [] and not plan.changes_file


def test_prune_with_everything_listed_changes_nothing():
    listed = [DEV_ADMIN, Assignment("333333333333", "Admin"), Assignment("111111111111", "Retired")]
    plan = plan_for(PRUNE_PROFILES, listed, prune=True)
    assert plan.of("remove") == [] and not plan.changes_file


def test_summary_names_additions_and_removals():
    plan = plan_for({"gone": managed("corp", "333333333333", "Admin")}, [DEV_ADMIN], prune=True)
    assert summary(plan, Path("/c"), Path("/c.bak")) == (
        "added 1 profile, removed 1 profile in /c (the old one is saved as /c.bak)"
    )
