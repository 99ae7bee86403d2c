"""The pure parts of naming a role without a profile: the options -> DirectTarget, its name,
and the plan for it (nesting, region)."""

from datetime import datetime, timedelta, timezone

import pytest

from ssoexec.direct import DirectTarget, ambiguous, no_access, target_from_options
from ssoexec.errors import EXIT_USAGE, SsoexecError
from ssoexec.plan import (
    FETCH,
    PROFILE_REGION,
    REUSE_CREDENTIALS,
    REUSE_ENDPOINT,
    SESSION_REGION,
    plan_run,
)

LATER = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def options(profile_given=False, sso_session=None, account=None, role=None):
    return target_from_options(
        profile_given=profile_given, sso_session=sso_session, account=account, role=role
    )


def test_no_options_no_target():
    assert options() is None
    assert options(profile_given=True) is None


def test_options_make_a_target_named_session_account_role():
    target = options(sso_session="corp", account="012345678901", role="Admin")
    assert target == DirectTarget("corp", "012345678901", "Admin")
    assert target.name == "corp/012345678901/Admin"
    assert options(sso_session="corp", account="012345678901").name == "corp/012345678901/"
    assert target.options() == "--sso-session corp --account 012345678901 --role Admin"
    assert DirectTarget("my corp", "012345678901").options() == (
        "--sso-session 'my corp' --account 012345678901"
    )


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"profile_given": True, "sso_session": "corp", "account": "012345678901"}, "not both"),
        ({"profile_given": True, "role": "Admin"}, "not both"),
        ({"role": "Admin"}, "--role needs --account"),
        ({"sso_session": "corp"}, "--sso-session needs --account"),
        ({"account": "012345678901", "role": "Admin"}, "--account needs --sso-session"),
        ({"sso_session": "c", "account": "12345678901"}, "not an AWS account id"),
        ({"sso_session": "c", "account": "1234567890123"}, "not an AWS account id"),
        ({"sso_session": "c", "account": "١٢٣٤٥٦٧٨٩٠١٢"}, "not an AWS account id"),
        ({"sso_session": "c", "account": "012345678901\n"}, "not an AWS account id"),
        ({"sso_session": "c", "account": "012345678901", "role": "a/b"}, "not a role name"),
        ({"sso_session": "c", "account": "012345678901", "role": "R\x1b"}, "'R?' is not a role"),
        ({"sso_session": "c", "account": "012345678901", "role": "x" * 65}, "not a role name"),
    ],
)
def test_every_mistake_is_a_usage_error(given, words):
    with pytest.raises(SsoexecError) as caught:
        options(**given)
    assert caught.value.exit_code == EXIT_USAGE
    assert words in caught.value.message


def test_errors_name_what_to_list():
    error = no_access("corp", "012345678901", "Admin")
    assert (
        error.message
        == "no access to role Admin in account 012345678901 through sso-session 'corp'"
    )
    assert "ssoexec list --portal --sso-session corp" in error.hint
    many = ambiguous(DirectTarget("corp", "012345678901"), [f"Role{n:02}" for n in range(25)])
    assert "has 25 roles" in many.message and "Role09 and 15 more" in many.message
    assert many.exit_code == EXIT_USAGE


def child_of(name, **more):
    return {
        "SSOEXEC_PROFILE": name,
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "SSOEXEC_EXPIRATION": LATER,
        **more,
    }


def plan(parent, target, server=False):
    return plan_run(parent, profile_name="default", region=None, server=server, target=target)


def test_a_nested_run_for_the_same_target_reuses():
    target = DirectTarget("corp", "012345678901", "Admin")
    reused = plan(child_of("corp/012345678901/Admin"), target)
    assert (reused.action, reused.profile_name) == (REUSE_CREDENTIALS, "corp/012345678901/Admin")
    assert plan(child_of("corp/012345678901/ReadOnly"), target).action == FETCH
    assert plan(child_of("corp/012345678901/Admin"), None).action == FETCH  # -p default


def test_a_nested_run_naming_the_account_alone_takes_the_outer_role():
    target = DirectTarget("corp", "012345678901")
    reused = plan(child_of("corp/012345678901/ReadOnly"), target)
    assert (reused.action, reused.profile_name) == (REUSE_CREDENTIALS, "corp/012345678901/ReadOnly")
    for outer in ("corp/012345678901/", "corp/012345678901/a/b", "corp/0123456789012/Admin"):
        assert plan(child_of(outer), target).action == FETCH, outer
    served = {
        "SSOEXEC_PROFILE": "corp/012345678901/Admin",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t",
    }
    assert plan(served, target).action == REUSE_ENDPOINT


def test_the_region_falls_back_to_the_sso_region_named_as_such():
    target = DirectTarget("corp", "012345678901", "Admin")
    region = plan({}, target).region({}, "us-east-1")
    assert (region.name, region.source) == ("us-east-1", SESSION_REGION)
    region = plan({}, target).region({"AWS_DEFAULT_REGION": "eu-west-1"}, "us-east-1")
    assert (region.name, region.source) == ("eu-west-1", "AWS_DEFAULT_REGION")
    assert plan({}, None).region({}, "eu-west-2").source == PROFILE_REGION
    reused = plan(child_of("corp/012345678901/Admin"), target)
    assert reused.region({}, "us-east-1").name is None  # the outer run chose (none)
