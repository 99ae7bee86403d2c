"""No profile needed, end to end: `ssoexec --sso-session NAME --account ID [--role NAME] --`
runs as that role through the [sso-session]'s token (shared with its profiles), in the run
form, --server, nesting, export and credential-process; and each mistake is one error line,
one hint, its exit status, and no change."""

import json
from dataclasses import replace

import pytest

from tests.conftest import PROBE, PYTHON, SSOEXEC, assert_one_error, run_in_terminal
from tests.test_login_e2e import Browser

DIRECT = ("--sso-session", "corp", "--account", "222222222222", "--role", "ReadOnly")
READ_ONLY = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_"


def only_role_in(sandbox, account_id="333333333333", role="Developer"):
    """Make the portal offer just `role` in that account."""
    emulator = sandbox.emulator
    emulator.accounts = [
        replace(a, roles=(role,)) if a.account_id == account_id else a for a in emulator.accounts
    ]


def test_account_and_role_run_as_that_role(sandbox):
    sandbox.login("corp")  # the sso-session's token, as `ssoexec login -p dev` leaves it
    report = sandbox.probe(*DIRECT, env={"AWS_PROFILE": "dev"})
    assert report["arn"].startswith(READ_ONLY)
    assert report["env"]["SSOEXEC_PROFILE"] == "corp/222222222222/ReadOnly"
    assert "AWS_PROFILE" not in report["env"]
    assert report["env"]["AWS_CREDENTIAL_EXPIRATION"] == report["env"]["SSOEXEC_EXPIRATION"]
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    assert sandbox.emulator.calls["ListAccountRoles"] == 0
    sandbox.assert_no_credentials_on_disk()


def test_account_alone_takes_its_only_role(sandbox):
    sandbox.login("corp")
    only_role_in(sandbox)
    report = sandbox.probe("--sso-session", "corp", "--account", "333333333333")
    assert report["arn"].startswith(
        "arn:aws:sts::333333333333:assumed-role/AWSReservedSSO_Developer_"
    )
    assert report["env"]["SSOEXEC_PROFILE"] == "corp/333333333333/Developer"
    assert sandbox.emulator.calls["ListAccountRoles"] == 1
    sandbox.assert_no_credentials_on_disk()


@pytest.mark.parametrize(
    ("args", "env", "region"),
    [
        ((), {}, "us-east-1"),  # the sso-session's sso_region
        ((), {"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
        ((), {"AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-north-1"),
        (("--region", "eu-west-3"), {"AWS_REGION": "eu-north-1"}, "eu-west-3"),
    ],
)
def test_region_is_the_option_else_inherited_else_the_sso_region(sandbox, args, env, region):
    sandbox.login("corp")
    report = sandbox.probe(*DIRECT, *args, env={**env, "PROBE_NO_AWS": "1"})
    assert report["env"]["AWS_REGION"] == report["env"]["AWS_DEFAULT_REGION"] == region


def test_the_session_token_is_shared_with_its_profiles(sandbox):
    """No token: the sign-in hint is the session's; once signed in (for -p dev), it serves."""
    result = sandbox.run(*DIRECT, "--", "true")
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "ssoexec: error: the SSO token for sso-session 'corp' is missing",
        "hint: run `ssoexec login --sso-session corp`, then run again",
    ]
    sandbox.login("corp", expires_in=300)  # due for refresh: refreshed and written back
    before = sandbox.token_path("corp").read_text()
    assert sandbox.probe(*DIRECT)["arn"].startswith(READ_ONLY)
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert sandbox.token_path("corp").read_text() != before
    assert sandbox.probe("-p", "dev")["account"] == "111111111111"
    assert sandbox.emulator.calls["CreateToken"] == 1  # the profile uses the renewed token


def test_a_person_there_signs_in_once_for_the_listing_and_the_role(sandbox, tmp_path):
    browser = Browser(sandbox, tmp_path)
    only_role_in(sandbox)
    argv = [SSOEXEC, "--sso-session", "corp", "--account", "333333333333", "--", PYTHON, PROBE]
    status, output = run_in_terminal(argv, sandbox.env)
    assert status == 0, output
    assert "signed in to sso-session 'corp'" in output
    assert json.loads(output[output.index("{") :])["account"] == "333333333333"
    assert len(browser.urls) == 1
    assert sandbox.token_path("corp").exists()


def nested(*inner):
    """The outer run's command: ssoexec again with `inner` (sandbox.probe adds the probe)."""
    return ("--", SSOEXEC, *inner)


def test_nested_same_target_reuses_what_it_was_given(sandbox):
    sandbox.login("corp")
    report = sandbox.probe(*DIRECT, *nested(*DIRECT))
    assert report["arn"].startswith(READ_ONLY)
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1


def test_nested_account_alone_reuses_the_role_the_outer_run_took(sandbox):
    sandbox.login("corp")
    only_role_in(sandbox)
    account = ("--sso-session", "corp", "--account", "333333333333")
    report = sandbox.probe(*account, *nested(*account))
    assert report["env"]["SSOEXEC_PROFILE"] == "corp/333333333333/Developer"
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    assert sandbox.emulator.calls["ListAccountRoles"] == 1


@pytest.mark.parametrize(
    ("inner", "name", "account"),
    [
        (
            ("--sso-session", "corp", "--account", "222222222222", "--role", "Admin"),
            "corp/222222222222/Admin",
            "222222222222",
        ),
        (("-p", "dev"), "dev", "111111111111"),
    ],
)
def test_nested_other_target_or_profile_fetches(sandbox, inner, name, account):
    sandbox.login("corp")
    report = sandbox.probe(*DIRECT, *nested(*inner))
    assert report["env"]["SSOEXEC_PROFILE"] == name
    assert report["account"] == account
    assert sandbox.emulator.calls["GetRoleCredentials"] == 2


def test_server_serves_the_named_role(sandbox):
    sandbox.login("corp")
    report = sandbox.probe("--server", *DIRECT)
    assert report["arn"].startswith(READ_ONLY)
    assert report["env"]["SSOEXEC_PROFILE"] == "corp/222222222222/ReadOnly"
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in report["env"]
    assert "AWS_ACCESS_KEY_ID" not in report["env"]
    sandbox.assert_no_credentials_on_disk()


@pytest.mark.parametrize("where", ["after", "before"])
def test_export_takes_the_options(sandbox, where):
    sandbox.login("corp")
    args = ("export", *DIRECT, "--format", "json")
    if where == "before":
        args = (*DIRECT, "export", "--format", "json")
    result = sandbox.run(*args, env={"AWS_PROFILE": "dev"})
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert exported["SSOEXEC_PROFILE"] == "corp/222222222222/ReadOnly"
    assert exported["AWS_REGION"] == "us-east-1"
    issued = sandbox.emulator.credentials_issued()
    assert [(c["account_id"], c["role_name"]) for c in issued] == [("222222222222", "ReadOnly")]
    assert exported["AWS_ACCESS_KEY_ID"] == issued[0]["access_key_id"]
    sandbox.assert_no_credentials_on_disk()


def test_credential_process_takes_the_options(sandbox):
    sandbox.login("corp")
    sandbox.write_config(
        sandbox.config.read_text() + "\n[profile direct-proc]\ncredential_process = "
        f"{SSOEXEC} credential-process " + " ".join(DIRECT) + "\n"
    )
    result = sandbox.run("credential-process", *DIRECT)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["Version"] == 1 and output["AccountId"] == "222222222222"
    assert output["Expiration"].endswith("Z")
    report = sandbox.probe("-p", "direct-proc")  # an SDK profile that runs it
    assert report["arn"].startswith(READ_ONLY)
    sandbox.assert_no_credentials_on_disk()


@pytest.fixture
def refused(sandbox, tmp_path):
    """Run ssoexec ARGS -- touch MARKER; check it failed cleanly and changed nothing."""
    marker = tmp_path / "the-command-ran"

    def run(*args, status, words, hint, calls=None):
        before = sandbox.files()
        result = sandbox.run(*args, "--", "touch", str(marker))
        lines = assert_one_error(result, words, hint, status)
        assert not marker.exists()
        assert sandbox.files() == before
        if calls is not None:
            assert dict(sandbox.emulator.calls) == calls
        return lines

    return run


@pytest.mark.parametrize(
    ("args", "words", "hint"),
    [
        (
            ("-p", "dev", "--sso-session", "corp", "--account", "111111111111"),
            "give -p or --sso-session with --account, not both",
            "--help",
        ),
        (("--role", "Admin"), "--role needs --account", "--help"),
        (("--sso-session", "corp", "--role", "Admin"), "--role needs --account", "--help"),
        (("--account", "111111111111"), "--account needs --sso-session", "--help"),
        (
            ("--sso-session", "corp"),
            "--sso-session needs --account",
            "ssoexec list --portal --sso-session corp",
        ),
        (
            ("--sso-session", "corp", "--account", "11111111111", "--role", "Admin"),
            "--account '11111111111' is not an AWS account id",
            "12 digits",
        ),
        (
            ("--sso-session", "corp", "--account", "1111111111x1"),
            "is not an AWS account id",
            "12 digits",
        ),
        (
            ("--sso-session", "corp", "--account", "111111111111", "--role", "a/b\x1b[2J"),
            "--role 'a/b?[2J' is not a role name",
            "permission set",
        ),
        (
            ("--sso-session", "corp", "--account", "111111111111", "--role", ""),
            "--role is empty",
            "--help",
        ),
    ],
)
def test_usage_errors_before_any_call(sandbox, refused, args, words, hint):
    sandbox.login("corp")
    refused(*args, status=2, words=words, hint=hint, calls={})


@pytest.mark.parametrize("subcommand", ["login", "list", "doctor"])
def test_the_options_before_another_subcommand_are_a_usage_error(sandbox, subcommand):
    result = sandbox.run(*DIRECT, subcommand)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"ssoexec: error: --sso-session, --account and --role before `{subcommand}` belong to "
        f"the run form; give `{subcommand}` its own options after its name"
    )


def test_export_with_p_and_the_options_is_a_usage_error(sandbox):
    result = sandbox.run("export", "-p", "dev", *DIRECT)
    assert result.returncode == 2 and result.stdout == ""
    assert "give -p or --sso-session with --account, not both" in result.stderr


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("corq", "did you mean 'corp'?"),
        ("zzz", "the config has 'corp'; `ssoexec configure --sso-session zzz` writes a new one"),
    ],
)
def test_unknown_sso_session(sandbox, refused, name, hint):
    sandbox.login("corp")
    lines = refused(
        "--sso-session",
        name,
        "--account",
        "111111111111",
        "--role",
        "Admin",
        status=125,
        words=f"sso-session '{name}' is not in {sandbox.config}",
        hint=hint,
        calls={},
    )
    assert "ssoexec list" in lines[1] or "ssoexec configure" in lines[1]


def test_no_sso_session_at_all(sandbox, refused):
    sandbox.write_config("[profile static]\naws_access_key_id = AKIAEXAMPLE\n")
    refused(
        *DIRECT,
        status=125,
        words="sso-session 'corp' is not in",
        hint="`ssoexec configure` writes an [sso-session]",
    )


def test_no_access_to_the_role(sandbox, refused):
    sandbox.login("corp")
    refused(
        "--sso-session",
        "corp",
        "--account",
        "111111111111",
        "--role",
        "Developer",
        status=125,
        words="no access to role Developer in account 111111111111 through sso-session 'corp'",
        hint="`ssoexec list --portal --sso-session corp` shows the accounts and roles you can use",
        calls={"GetRoleCredentials": 1},
    )


def test_no_access_to_the_account(sandbox, refused):
    sandbox.login("corp")
    refused(
        "--sso-session",
        "corp",
        "--account",
        "999999999999",
        status=125,
        words="no access to account 999999999999 through sso-session 'corp'",
        hint="ssoexec list --portal --sso-session corp",
        calls={"ListAccountRoles": 1},
    )


def test_account_with_several_roles_is_ambiguous(sandbox, refused):
    sandbox.login("corp")
    emulator = sandbox.emulator
    odd = "Ops\x1b]0;pwned\x07"  # a name from the network: printed only made printable
    emulator.accounts = [replace(emulator.accounts[0], roles=("Admin", "ReadOnly", odd))]
    lines = refused(
        "--sso-session",
        "corp",
        "--account",
        "111111111111",
        status=2,
        words="account 111111111111 has 3 roles for you through sso-session 'corp'",
        hint="add --role with one of them; `ssoexec list --portal --sso-session corp`",
        calls={"ListAccountRoles": 1},
    )
    assert "(Admin, Ops?]0;pwned?, ReadOnly)" in lines[0]
    assert "\x1b" not in "".join(lines)


def test_export_on_a_terminal_warns_with_the_options_that_name_the_role(sandbox):
    sandbox.login("corp")
    status, output = run_in_terminal([SSOEXEC, "export", *DIRECT], sandbox.env)
    assert status == 0, output
    warnings = [line for line in output.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert (
        'eval "$(ssoexec --sso-session corp --account 222222222222 --role ReadOnly export)"'
        in warnings[0]
    )
    assert "export SSOEXEC_PROFILE='corp/222222222222/ReadOnly'" in output


def test_server_with_the_account_alone_names_the_role_it_took(sandbox):
    sandbox.login("corp")
    only_role_in(sandbox)
    report = sandbox.probe("--server", "--sso-session", "corp", "--account", "333333333333")
    assert report["account"] == "333333333333"
    assert report["env"]["SSOEXEC_PROFILE"] == "corp/333333333333/Developer"


def test_account_alone_with_no_token_and_nobody_there_asks_for_the_session_login(sandbox, refused):
    only_role_in(sandbox)
    refused(
        "--sso-session",
        "corp",
        "--account",
        "333333333333",
        status=125,
        words="the SSO token for sso-session 'corp' is missing",
        hint="run `ssoexec login --sso-session corp`, then run again",
        calls={},
    )
