"""`ssoexec list --portal` (issue 13, item 5): every account and role the portal offers, with
the profiles already set up for each, through the installed script against the emulator."""

from __future__ import annotations

import json
import re

from tests.conftest import CONFIG, SSOEXEC, START_URL, run_in_terminal
from tests.emulator import DEFAULT_ACCOUNTS, Account, organisation
from tests.test_configure import Browser

# dev and also-dev (sso_session corp) and old-style (legacy keys, the same start URL) are set
# up; the profile legacy signs in to another portal, so its 222222222222/ReadOnly is not marked.
MARKED = (
    CONFIG
    + f"""
[profile old-style]
sso_start_url = {START_URL}/
sso_region = us-east-1
sso_account_id = 333333333333
sso_role_name = Developer

[profile also-dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
"""
)
TWO_SESSIONS = (
    CONFIG
    + "\n[sso-session other]\nsso_start_url = https://x.example/start\nsso_region = eu-west-1\n"
)
WANTED = {
    ("111111111111", "Dev Account", "Admin", "also-dev, dev"),
    ("111111111111", "Dev Account", "ReadOnly", "-"),
    ("222222222222", "Prod Account", "Admin", "-"),
    ("222222222222", "Prod Account", "ReadOnly", "-"),
    ("333333333333", "Sandbox", "Developer", "old-style"),
    ("333333333333", "Sandbox", "ReadOnly", "-"),
}


def cells(stdout: str) -> list[tuple[str, ...]]:
    return [tuple(re.split(r"\s{2,}", line)) for line in stdout.splitlines()]


def assert_one_error(result, status: int, *words: str) -> list[str]:
    assert result.returncode == status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: ") and lines[1].startswith("hint: ")
    for word in words:
        assert word in result.stderr, result.stderr
    assert result.stdout == ""
    return lines


def test_every_account_and_role_is_listed_with_the_profiles_set_up_for_it(sandbox):
    sandbox.write_config(MARKED)
    sandbox.login("corp")
    before = sandbox.config.read_bytes()
    result = sandbox.run("list", "--portal")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, *rows = cells(result.stdout)
    assert header == ("ACCOUNT", "ACCOUNT NAME", "ROLE", "PROFILES")
    assert set(rows) == WANTED and len(rows) == len(WANTED)
    assert rows == sorted(rows)
    assert sandbox.config.read_bytes() == before
    assert sandbox.emulator.calls["ListAccountRoles"] == len(DEFAULT_ACCOUNTS)


def test_json_is_one_list_of_account_role_and_profiles(sandbox):
    sandbox.write_config(MARKED)
    sandbox.login("corp")
    result = sandbox.run("list", "--portal", "--sso-session", "corp", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert all(list(item) == ["account", "account_name", "role", "profiles"] for item in listed)
    assert {
        (i["account"], i["account_name"], i["role"], ", ".join(i["profiles"]) or "-")
        for i in listed
    } == WANTED
    assert listed[0]["profiles"] == ["also-dev", "dev"]


def test_names_from_the_portal_are_printed_without_control_characters(sandbox):
    sandbox.emulator.accounts = [
        Account("444444444444", "Evil\x1b]0;owned\x07\x1b[2J", "e@example.com", ("Admin",))
    ]
    sandbox.login("corp")
    result = sandbox.run("list", "--portal")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Evil?]0;owned??[2J" in result.stdout
    as_json = sandbox.run("list", "--portal", "--json")
    assert json.loads(as_json.stdout)[0]["account_name"].startswith("Evil\x1b]0;")
    assert "\x1b" not in as_json.stdout  # JSON escapes it


def test_an_unknown_session_is_one_error_naming_what_there_is(sandbox):
    sandbox.login("corp")
    result = sandbox.run("list", "--portal", "--sso-session", "corpp")
    assert_one_error(result, 125, "corpp", "did you mean 'corp'")
    assert sandbox.emulator.calls["ListAccounts"] == 0


def test_two_sessions_and_no_sso_session_option_is_a_usage_error_naming_them(sandbox):
    sandbox.write_config(TWO_SESSIONS)
    sandbox.login("corp")
    result = sandbox.run("list", "--portal")
    lines = assert_one_error(result, 2, "--sso-session")
    assert "corp, other" in lines[1]
    assert sandbox.emulator.calls["ListAccounts"] == 0


def test_no_session_at_all_says_how_to_write_one(sandbox):
    sandbox.write_config("[profile static]\naws_access_key_id = AKIAEXAMPLE\n")
    result = sandbox.run("list", "--portal")
    assert_one_error(result, 125, "no [sso-session]", "ssoexec configure")


def test_sso_session_without_portal_is_a_usage_error(sandbox):
    result = sandbox.run("list", "--sso-session", "corp")
    assert_one_error(result, 2, "--sso-session goes with --portal")


def test_without_a_token_in_ci_it_fails_with_the_sign_in_hint(sandbox):
    result = sandbox.run("list", "--portal", env={"CI": "true"})
    lines = assert_one_error(result, 125)
    assert "ssoexec login --sso-session corp" in lines[1], result.stderr
    assert sandbox.emulator.calls["ListAccounts"] == 0


def test_a_person_at_a_terminal_is_signed_in_first(sandbox, tmp_path):
    browser = Browser(sandbox, tmp_path)
    status, output = run_in_terminal([SSOEXEC, "list", "--portal"], sandbox.env)
    assert status == 0, output
    assert "signed in to sso-session 'corp'" in output
    assert len(browser.urls) == 1
    assert sandbox.token_path("corp").exists()
    assert "333333333333  Sandbox       ReadOnly   -" in output


def test_a_throttling_portal_is_listed_whole_without_an_error(sandbox):
    sandbox.emulator.accounts = organisation(40, 2)
    sandbox.emulator.rate_limit = 20
    sandbox.login("corp")
    result = sandbox.run("list", "--portal", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    listed = {(i["account"], i["role"]) for i in json.loads(result.stdout)}
    assert listed == {(a.account_id, r) for a in organisation(40, 2) for r in a.roles}
