"""SPEC §9, end to end: every bad input or fault is one error line and one hint on stderr,
exit status 125, the command never runs, and no file changes (but a successful refresh)."""

import json
import socket

import pytest

from tests.conftest import CONFIG, LEGACY_START_URL, assert_one_error


@pytest.fixture
def attempt(sandbox, tmp_path):
    """Run `ssoexec ARGS -- touch MARKER` and check that it failed cleanly; return stderr."""
    marker = tmp_path / "the-command-ran"

    def run(*args, words, hint, env=None, refresh_tried=False):
        before = sandbox.files()
        result = sandbox.run(*args, "--", "touch", str(marker), env=env)
        lines = assert_one_error(result, words, hint)
        assert "Traceback" not in result.stderr
        assert not marker.exists()
        after = sandbox.files()
        if refresh_tried:  # the refresh lock, an empty file beside the token, may now exist
            after = {path: data for path, data in after.items() if not path.endswith(".lock")}
        assert after == before
        return lines

    return run


def test_unknown_profile(attempt):
    attempt("-p", "prodd", words="profile 'prodd' is not in", hint="ssoexec list")


def test_profile_with_missing_keys(sandbox, attempt):
    sandbox.write_config(CONFIG + "[profile half]\nsso_session = corp\nsso_account_id = 1\n")
    attempt("-p", "half", words="missing sso_role_name", hint="add sso_role_name")


def test_profile_with_conflicting_keys(sandbox, attempt):
    sandbox.write_config(
        CONFIG + "[profile clash]\nsso_session = corp\nsso_region = eu-west-1\n"
        "sso_account_id = 111111111111\nsso_role_name = Admin\n"
    )
    attempt(
        "-p",
        "clash",
        words="sets sso_region = eu-west-1 but its sso-session",
        hint="remove sso_region",
    )


def test_malformed_config(sandbox, attempt):
    sandbox.write_config(CONFIG + "[profile dev]\nregion = us-east-1\n")  # a duplicate section
    attempt("-p", "dev", words="cannot parse the AWS config", hint="duplicate section")


def test_unknown_sso_session(sandbox, attempt):
    sandbox.write_config(CONFIG.replace("sso_session = corp", "sso_session = crop"))
    attempt(
        "-p", "dev", words="sso-session 'crop', which does not exist", hint="[sso-session crop]"
    )


def test_no_token_yet(sandbox, attempt):
    attempt(
        "-p",
        "dev",
        words="SSO token for sso-session 'corp' is missing",
        hint="ssoexec login -p dev",
    )
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00\x01garbage", "is unusable"),
        (b'{"startUrl": "https://d-1234567890.awsapps.com/start", "accessTo', "not valid JSON"),
        (b'{"accessToken": "abc"}', "has no expiresAt"),
    ],
    ids=["corrupt", "truncated", "incomplete"],
)
def test_unusable_token_cache(sandbox, attempt, content, words):
    path = sandbox.login("corp")
    path.write_bytes(content)
    attempt("-p", "dev", words=words, hint=str(path))


def test_unreadable_token_cache(sandbox, attempt):
    path = sandbox.login("corp")
    path.unlink()
    path.mkdir()  # unreadable as a file, even for root
    attempt("-p", "dev", words="cannot read the SSO token cache", hint=f"rm -r {path}")


def test_expired_token_and_no_person_there(sandbox, attempt):
    sandbox.login(LEGACY_START_URL, refreshable=False, expires_in=-60)
    attempt("-p", "legacy", words="expired at", hint="ssoexec login -p legacy")
    assert sum(sandbox.emulator.calls.values()) == 0


def test_refresh_token_rejected(sandbox, attempt):
    sandbox.login("corp", expires_in=-60)
    sandbox.emulator.revoke_refresh_tokens()
    attempt(
        "-p",
        "dev",
        words="AWS rejected its refresh token",
        hint="ssoexec login -p dev",
        refresh_tried=True,
    )
    assert sandbox.emulator.calls["CreateToken"] == 1


def test_token_refused_by_the_portal(sandbox, attempt):
    path = sandbox.login(LEGACY_START_URL, refreshable=False)
    sandbox.emulator.revoke(json.loads(path.read_text())["accessToken"])
    attempt("-p", "legacy", words="was refused by AWS SSO", hint="ssoexec login -p legacy")


def test_role_not_assigned(sandbox, attempt):
    sandbox.write_config(CONFIG.replace("sso_role_name = Admin", "sso_role_name = Owner"))
    sandbox.login("corp")
    attempt("-p", "dev", words="ForbiddenException: No access", hint="sso_role_name")


def test_throttled_after_retries(sandbox, attempt):
    sandbox.login("corp")
    sandbox.emulator.fail("GetRoleCredentials", 429, times=10)
    attempt("-p", "dev", words="throttling", hint="wait", env={"AWS_MAX_ATTEMPTS": "3"})
    assert sandbox.emulator.calls["GetRoleCredentials"] == 3


def test_server_error_after_retries(sandbox, attempt):
    sandbox.login("corp")
    sandbox.emulator.fail("GetRoleCredentials", 500, times=10)
    attempt("-p", "dev", words="HTTP 500", hint="run again", env={"AWS_MAX_ATTEMPTS": "2"})
    assert sandbox.emulator.calls["GetRoleCredentials"] == 2


def test_dropped_connection(sandbox, attempt):
    sandbox.login("corp")
    sandbox.emulator.fail("GetRoleCredentials", "drop", times=10)
    attempt(
        "-p",
        "dev",
        words="closed the connection",
        hint="AWS_ENDPOINT_URL",
        env={"AWS_MAX_ATTEMPTS": "2"},
    )


def test_connection_refused(sandbox, attempt):
    sandbox.login("corp")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    attempt(
        "-p",
        "dev",
        words="cannot connect to",
        hint="AWS_ENDPOINT_URL_SSO",
        env={"AWS_ENDPOINT_URL_SSO": url, "AWS_MAX_ATTEMPTS": "1"},
    )


def test_dns_failure(sandbox, attempt):
    sandbox.login("corp")
    attempt(
        "-p",
        "dev",
        words="cannot connect to",
        hint="network",
        env={"AWS_ENDPOINT_URL_SSO": "http://portal.ssoexec-test.invalid", "AWS_MAX_ATTEMPTS": "1"},
    )


def test_clock_skew(sandbox, attempt):
    sandbox.login("corp")
    sandbox.emulator.clock_offset = -2 * 3600  # AWS thinks it is two hours earlier
    lines = attempt("-p", "dev", words="already past by this machine's clock", hint="clock")
    assert "120 min ahead of AWS" in lines[0]


def test_chain_assume_role_denied(sandbox, attempt):
    sandbox.login("corp")
    sandbox.emulator.external_ids["arn:aws:iam::333333333333:role/Deployer"] = "other-id"
    attempt("-p", "chained", words="AccessDenied", hint="external_id")


def test_chain_duration_over_the_chaining_limit(sandbox, attempt):
    sandbox.login("corp")
    sandbox.write_config(CONFIG.replace("duration_seconds = 3600", "duration_seconds = 7200"))
    sandbox.emulator.external_ids["arn:aws:iam::333333333333:role/Deployer"] = "ext-123"
    attempt("-p", "chained", words="1 hour session limit", hint="duration_seconds")


def test_mfa_profile_without_a_terminal(sandbox, attempt):
    sandbox.login("corp")
    sandbox.write_config(
        CONFIG + "[profile mfa]\nrole_arn = arn:aws:iam::333333333333:role/X\n"
        "source_profile = dev\nmfa_serial = arn:aws:iam::1:mfa/me\n"
    )
    attempt("-p", "mfa", words="needs an MFA code", hint="terminal")


def test_credential_process_failing(sandbox, attempt):
    sandbox.write_config("[profile proc]\ncredential_process = sh -c 'echo broken >&2; exit 3'\n")
    attempt("-p", "proc", words="broken", hint="credential_process")


def test_credential_process_never_asks_for_an_mfa_code(sandbox):
    sandbox.login("corp")
    sandbox.write_config(
        CONFIG + "[profile mfa]\nrole_arn = arn:aws:iam::333333333333:role/X\n"
        "source_profile = dev\nmfa_serial = arn:aws:iam::1:mfa/me\n"
    )
    from tests.conftest import SSOEXEC, run_in_terminal

    status, output = run_in_terminal(
        [SSOEXEC, "credential-process", "-p", "mfa"], sandbox.env, timeout=20
    )
    assert status == 125
    assert "may not ask for one" in output
    assert "Enter MFA code" not in output
