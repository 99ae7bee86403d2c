"""Issue 9, item 9, end to end: text that came from the network or from files reaches the
terminal without its control characters (an escape sequence would retitle or clear it)."""

import json

import pytest

from tests.conftest import CONFIG, START_URL
from tests.emulator.models import Account

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def assert_no_control_bytes(result):
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream, repr(stream)


@pytest.mark.parametrize(
    "api, args",
    [
        ("GetRoleCredentials", ["-p", "dev", "--", "true"]),
        ("GetRoleCredentials", ["-p", "chained", "export"]),
        ("ListAccounts", ["configure", "--start-url", START_URL, "--sso-region", "us-east-1"]),
    ],
)
def test_an_aws_error_message_with_escapes(sandbox, api, args):
    """(The JSON APIs: an escape cannot be in STS's XML, whose parser refuses it.)"""
    sandbox.login()
    sandbox.emulator.fail(api, 403, message=f"No access {ESCAPES} here", times=10)
    result = sandbox.run(*args)
    assert result.returncode == 125, result.stderr
    assert_no_control_bytes(result)
    assert "No access ?]0;pwned??[2J here" in result.stderr, result.stderr


def test_account_names_with_escapes_in_configure(sandbox):
    sandbox.emulator.accounts = [
        Account("444444444444", f"Evil {ESCAPES} Corp", "e@example.com", ("Admin",)),
        Account("555555555555", "Fine", "f@example.com", ("Viewer",)),
    ]
    sandbox.login()
    args = ("configure", "--start-url", START_URL, "--sso-region", "us-east-1")
    for extra in (("--dry-run",), ()):
        result = sandbox.run(*args, *extra)
        assert result.returncode == 0, result.stderr
        assert_no_control_bytes(result)
        assert "Evil ?]0;pwned??[2J Corp" in result.stdout, result.stdout
    assert "\x1b" not in sandbox.config.read_text()
    listed = sandbox.run("list")
    assert listed.returncode == 0, listed.stderr
    assert_no_control_bytes(listed)


@pytest.mark.parametrize(
    "role", [f"Role{ESCAPES}", "Admin\n[profile evil]\ncredential_process = x"]
)
def test_a_role_name_that_cannot_go_into_the_config(sandbox, role):
    """AWS allows no control characters in a role (permission set) name: one is refused, and
    the plan is not printed nor the file changed."""
    sandbox.emulator.accounts = [Account("444444444444", "Fine", "e@example.com", (role,))]
    sandbox.login()
    before = sandbox.files()
    result = sandbox.run("configure", "--start-url", START_URL, "--sso-region", "us-east-1")
    assert result.returncode == 125, result.stderr
    assert_no_control_bytes(result)
    assert "cannot go into the AWS config" in result.stderr
    assert result.stdout == ""
    assert sandbox.files() == before


def test_list_and_doctor_print_file_values_printable(sandbox):
    sandbox.login()
    sandbox.write_config(
        CONFIG + f"[profile odd{ESCAPES}]\nsso_session = corp\nsso_account_id = 1{ESCAPES}\n"
        f"sso_role_name = Admin{ESCAPES}\n"
        f"[profile broken]\nsso_session = corp{ESCAPES}\nsso_account_id = 1\nsso_role_name = R\n"
    )
    listed = sandbox.run("list")
    assert listed.returncode == 0, listed.stderr
    assert_no_control_bytes(listed)
    assert "odd?]0;pwned??[2J" in listed.stdout
    as_json = sandbox.run("list", "--json")
    assert_no_control_bytes(as_json)
    assert f"odd{ESCAPES}" in [row["name"] for row in json.loads(as_json.stdout)]
    for name in (f"odd{ESCAPES}", "broken", f"missing{ESCAPES}"):
        doctor = sandbox.run("doctor", "-p", name)
        assert_no_control_bytes(doctor)
        assert "?]0;pwned??[2J" in doctor.stdout + doctor.stderr


def test_a_profile_name_with_escapes_in_errors_and_warnings(sandbox):
    result = sandbox.run("-p", f"nope{ESCAPES}", "--", "true")
    assert result.returncode == 125
    assert_no_control_bytes(result)
