"""`ssoexec doctor`, end to end: the installed script against a sandbox HOME. Each problem on
its own gives exit status 1 and its line; a clean setup gives 0. Doctor never calls AWS,
never changes a file and never prints a secret."""

import os
import time

import pytest

from tests.conftest import BIN, CONFIG, LEGACY_START_URL, SSOEXEC

AWS_V1 = "aws-cli/1.29.0 Python/3.11 Linux/6 botocore/1.31.0"
AWS_V2 = "aws-cli/2.36.7 Python/3.13.7 Linux/6.8 exe/x86_64.debian.12"


@pytest.fixture
def fake_bin(tmp_path):
    """A directory first on PATH, where a test may put a fake `aws`."""
    path = tmp_path / "fake-bin"
    path.mkdir()
    return path


@pytest.fixture
def doctor(sandbox, fake_bin):
    """Run `ssoexec doctor ARGS`; check that it made no AWS call, changed no file and showed
    no secret; return (exit status, stdout lines)."""

    def run(*args, env=None, secrets=()):
        before = sandbox.files()
        env = {"PATH": f"{fake_bin}{os.pathsep}{BIN}", **(env or {})}
        result = sandbox.run("doctor", *args, env=env)
        output = result.stdout + result.stderr
        for secret in (*sandbox.emulator.issued_secrets(), *secrets):
            assert secret not in output, "doctor printed a secret"
        assert "Traceback" not in output
        assert result.stderr == ""
        assert sum(sandbox.emulator.calls.values()) == 0
        assert sandbox.files() == before
        print(result.stdout)  # shown by pytest when a test fails
        return result.returncode, result.stdout.splitlines()

    return run


def problems(lines):
    return [line for line in lines if line.startswith("PROBLEM")]


def only_problem(lines, *words):
    """The one PROBLEM line, checked for words and a fix hint."""
    found = problems(lines)
    assert len(found) == 1, "\n".join(lines)
    for word in words:
        assert word in found[0], found[0]
    assert "; fix: " in found[0]
    assert lines[-1].startswith("summary: 1 problem found")
    return found[0]


def write_credentials(sandbox, text):
    path = sandbox.aws / "credentials"
    path.write_text(text)
    return path


def fake_aws(fake_bin, version):
    script = fake_bin / "aws"
    script.write_text(f"#!/bin/sh\necho '{version}'\n")
    script.chmod(0o755)


# ---------------------------------------------------------------- a clean setup


def test_clean_setup(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "dev")
    assert status == 0, "\n".join(lines)
    assert problems(lines) == []
    assert lines[-1] == "summary: all OK for profile dev"
    text = "\n".join(lines)
    assert "profile dev: SSO, account 111111111111, role Admin, sso-session 'corp'" in text
    assert "region: eu-west-1, from the profile's region" in text
    assert "SSO token for sso-session 'corp' is valid for 4" in text  # 8 h = 480 min
    assert "no `aws` on PATH" in text
    assert "no shared credentials file" in text
    variables = next(line for line in lines if "ssoexec would set" in line)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert name in variables
    assert variables.endswith("remove nothing")


def test_role_chain_and_inherited_region(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "chained2", env={"AWS_REGION": "ap-south-1"})
    assert status == 0, "\n".join(lines)
    text = "\n".join(lines)
    assert "assumes arn:aws:iam::222222222222:role/Auditor, from chained: assumes" in text
    assert "from dev: SSO" in text
    assert "region: ap-south-1, from the inherited AWS_REGION" in text


def test_region_option(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "dev", env={"AWS_DEFAULT_REGION": "us-west-1"})
    assert status == 0
    assert "region: us-west-1, from the inherited AWS_DEFAULT_REGION" in "\n".join(lines)
    result = sandbox.run("--region", "ca-central-1", "doctor", "-p", "dev")
    assert "region: ca-central-1, from --region" in result.stdout


def test_expired_token_with_a_refresh_token_is_fine(sandbox, doctor):
    sandbox.login("corp", expires_in=-60)
    status, lines = doctor("-p", "dev")
    assert status == 0, "\n".join(lines)
    assert "its refresh token renews it on the next run" in "\n".join(lines)


def test_token_in_the_refresh_window_is_fine_if_refreshable(sandbox, doctor):
    sandbox.login("corp", expires_in=600)
    status, lines = doctor("-p", "dev")
    assert status == 0, "\n".join(lines)
    assert "the next run refreshes it" in "\n".join(lines)


def test_aws_cli_v2_is_fine(sandbox, doctor, fake_bin):
    sandbox.login("corp")
    fake_aws(fake_bin, AWS_V2)
    status, lines = doctor("-p", "dev")
    assert status == 0
    assert "`aws` on PATH is aws-cli/2.36.7" in "\n".join(lines)


def test_inside_an_ssoexec_child_its_keys_are_expected(sandbox, doctor):
    sandbox.login("corp")
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3000))
    inside = {
        "SSOEXEC_PROFILE": "dev",
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12",
        "AWS_SECRET_ACCESS_KEY": "inherited-secret-key-value",
        "AWS_SESSION_TOKEN": "inherited-session-token-value",
        "AWS_CREDENTIAL_EXPIRATION": expires,
        "SSOEXEC_EXPIRATION": expires,
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    status, lines = doctor(
        "-p", "dev", env=inside, secrets=("inherited-secret-key-value", "inherited-session")
    )
    assert status == 0, "\n".join(lines)
    text = "\n".join(lines)
    assert "a nested run reuses the inherited credentials, with no AWS call" in text
    assert f"the credentials in this environment are valid until {expires}" in text


def test_doctor_run_by_ssoexec_itself(sandbox):
    """In a real child: the keys ssoexec gave are expected, and a nested run would reuse them.
    The one AWS call is the outer run's."""
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", SSOEXEC, "doctor", "-p", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a nested run reuses the inherited credentials, with no AWS call" in result.stdout
    assert "the credentials in this environment are valid until" in result.stdout
    assert "AWS_ACCESS_KEY_ID" in result.stdout  # named, as what ssoexec would set
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    assert sum(sandbox.emulator.calls.values()) == 1
    for secret in sandbox.emulator.issued_secrets():
        assert secret not in result.stdout + result.stderr


# ---------------------------------------------------------------- each problem on its own


def test_aws_profile_set(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "dev", env={"AWS_PROFILE": "legacy"})
    assert status == 1
    only_problem(lines, "AWS_PROFILE=legacy is set", "unset AWS_PROFILE")


def test_aws_profile_set_again_inside_a_child(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "dev", env={"AWS_PROFILE": "legacy", "SSOEXEC_PROFILE": "dev"})
    assert status == 1
    only_problem(lines, "inside ssoexec's child for dev", "uses profile legacy")


def test_aws_security_token_set(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "dev", env={"AWS_SECURITY_TOKEN": "stale-security-token"})
    assert status == 1
    only_problem(lines, "AWS_SECURITY_TOKEN is set", "unset AWS_SECURITY_TOKEN")
    assert "stale-security-token" not in "\n".join(lines)


def test_static_keys_in_the_environment_outside_ssoexec(sandbox, doctor):
    sandbox.login("corp")
    key, secret = sandbox.emulator.add_static_user("444444444444", "laptop")
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    status, lines = doctor("-p", "dev", env=env, secrets=(key, secret))
    assert status == 1
    line = only_problem(lines, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY set outside ssoexec")
    assert f"****{key[-4:]}" in line


def test_credentials_file_section_named_like_the_profile(sandbox, doctor):
    sandbox.login("corp")
    write_credentials(sandbox, "[dev]\nregion = us-east-2\n")
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "~/.aws/credentials has a [dev] section", "remove [dev]")


def test_credentials_file_named_by_the_environment(sandbox, doctor, tmp_path):
    sandbox.login("corp")
    path = tmp_path / "elsewhere.ini"
    path.write_text("[dev]\nregion = us-east-2\n")
    status, lines = doctor("-p", "dev", env={"AWS_SHARED_CREDENTIALS_FILE": str(path)})
    assert status == 1
    only_problem(lines, f"{path} has a [dev] section")


def test_legacy_profile(sandbox, doctor):
    sandbox.login(LEGACY_START_URL, refreshable=False)
    status, lines = doctor("-p", "legacy")
    assert status == 1
    only_problem(lines, "legacy SSO profile", "[sso-session NAME]", "sso_registration_scopes")
    assert "not refreshable" in "\n".join(lines)


def test_expired_token(sandbox, doctor):
    sandbox.login("corp", expires_in=-120, refreshable=False)
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "expired at", "cannot be refreshed", "ssoexec login -p dev")


def test_token_in_the_refresh_window_without_refresh_token(sandbox, doctor):
    sandbox.login("corp", expires_in=300, refreshable=False)
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "expires in 4 min and cannot be refreshed", "ssoexec login -p dev")


def test_missing_token(doctor):
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "no SSO token for sso-session 'corp'", "ssoexec login -p dev")


def test_corrupt_token_file(sandbox, doctor):
    path = sandbox.login("corp")
    path.write_bytes(b"\x00\x01garbage")
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "is unusable", str(path))


@pytest.mark.parametrize(
    ("where", "mode", "words"),
    [
        ("cache", 0o777, ("others can write to", "sso/cache (mode 777)", "`chmod 700 ~/")),
        ("cache", 0o770, ("its group can write to", "sso/cache (mode 770)", "`chmod 700 ~/")),
        ("sso", 0o757, ("others can write to", ".aws/sso (mode 757)", "`chmod 700 ~/")),
        ("token", 0o666, ("group and others can write to", "(mode 666)", "`chmod 600 ~/")),
        ("token", 0o644, ("group and others can read", "(mode 644)", "`chmod 600 ~/")),
    ],
)
def test_a_cache_others_can_change(sandbox, doctor, where, mode, words):
    path = sandbox.login("corp")
    item = {"token": path, "cache": path.parent, "sso": path.parent.parent}[where]
    item.chmod(mode)
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, *words)


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_token_file_of_the_wrong_kind(sandbox, doctor, kind):
    path = sandbox.token_path("corp")
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    status, lines = doctor("-p", "dev")  # the fixture's subprocess timeout: it must not hang
    assert status == 1
    only_problem(lines, "not a token file", f"rm -r {path}")


def test_aws_cli_v1_on_path(sandbox, doctor, fake_bin):
    sandbox.login("corp")
    fake_aws(fake_bin, AWS_V1)
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "is AWS CLI v1 (aws-cli/1.29.0)", "install AWS CLI v2")


def test_long_lived_keys_in_the_credentials_file(sandbox, doctor):
    sandbox.login("corp")
    key, secret = sandbox.emulator.add_static_user("444444444444", "old-laptop")
    write_credentials(
        sandbox, f"[old]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    status, lines = doctor("-p", "dev", secrets=(key, secret))
    assert status == 1
    line = only_problem(lines, "[old]", "long-lived IAM user access key", "deactivate the key")
    assert f"AKIA****{key[-4:]}" in line


def test_profile_defined_only_in_the_credentials_file(sandbox, doctor):
    """Its section is the profile, not a shadow of one; its long-lived key is still found."""
    sandbox.login("corp")
    key, secret = sandbox.emulator.add_static_user("444444444444", "ci")
    write_credentials(
        sandbox, f"[ci]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    status, lines = doctor("-p", "ci", secrets=(key, secret))
    assert status == 1
    only_problem(lines, "[ci] in ~/.aws/credentials holds a long-lived IAM user access key")
    assert "profile ci: static, resolved by botocore" in "\n".join(lines)
    assert "does not use SSO: no token to check" in "\n".join(lines)
    [variables] = [line for line in lines if "ssoexec would set" in line]
    assert "AWS_SECRET_ACCESS_KEY" in variables  # static keys: no token, no expiry
    assert "AWS_SESSION_TOKEN" not in variables and "EXPIRATION" not in variables


def test_copied_temporary_credentials_in_the_credentials_file(sandbox, doctor):
    sandbox.login("corp")
    copied = (
        "aws_access_key_id = ASIACOPIEDCOPIED1234\n"
        "aws_secret_access_key = copied-secret-access-key\n"
        "aws_session_token = copied-session-token\n"
    )
    write_credentials(sandbox, f"[111111111111_Admin]\n{copied}")
    status, lines = doctor(
        "-p", "dev", secrets=("copied-secret-access-key", "copied-session-token")
    )
    assert status == 1
    only_problem(lines, "[111111111111_Admin]", "temporary credentials", "yawsso")


def test_token_cached_for_another_sso_region(sandbox, doctor):
    sandbox.login("corp", region="eu-west-1")  # the session says us-east-1
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(
        lines, "issued in eu-west-1", "sso_region = us-east-1", "ssoexec login --sso-session corp"
    )


def test_token_cached_for_another_region_of_a_legacy_profile(sandbox, doctor):
    """Every SSO session of the config is checked, not only the profile's."""
    sandbox.login("corp")
    sandbox.login(LEGACY_START_URL, region="ap-southeast-2", refreshable=False)
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, LEGACY_START_URL, "issued in ap-southeast-2", "ssoexec login -p legacy")


def test_unknown_profile(sandbox, doctor):
    sandbox.login("corp")
    status, lines = doctor("-p", "prodd")
    assert status == 1
    only_problem(lines, "profile 'prodd' is not in", "ssoexec list")
    assert lines[-1] == "summary: 1 problem found for profile prodd"


def test_malformed_config_still_checks_the_rest(sandbox, doctor, fake_bin):
    sandbox.write_config(CONFIG + "[profile dev]\nregion = us-east-1\n")  # a duplicate section
    fake_aws(fake_bin, AWS_V1)
    status, lines = doctor("-p", "dev", env={"AWS_SECURITY_TOKEN": "x"})
    assert status == 1
    found = "\n".join(problems(lines))
    assert "cannot parse the AWS config" in found
    assert "AWS_SECURITY_TOKEN is set" in found
    assert "AWS CLI v1" in found


def test_clock_behind_the_token(sandbox, doctor):
    """AWS registered the client (by its clock) two days after this machine wrote the file."""
    sandbox.emulator.clock_offset = 2 * 86400
    sandbox.login("corp")
    status, lines = doctor("-p", "dev")
    assert status == 1
    only_problem(lines, "clock", "looks behind", "NTP")


def test_expired_credentials_inside_a_child(sandbox, doctor):
    sandbox.login("corp")
    env = {"SSOEXEC_PROFILE": "dev", "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z"}
    status, lines = doctor("-p", "dev", env=env)
    assert status == 1
    only_problem(lines, "expired at 2020-01-01T00:00:00Z", "clock is wrong", "ssoexec -p dev")


def test_credentials_inside_a_child_that_outlive_any_role_session(sandbox, doctor):
    sandbox.login("corp")
    env = {"SSOEXEC_PROFILE": "dev", "AWS_CREDENTIAL_EXPIRATION": "2999-01-01T00:00:00Z"}
    status, lines = doctor("-p", "dev", env=env)
    assert status == 1
    only_problem(lines, "later than any role session", "looks behind")


# ---------------------------------------------------------------- everything at once


def test_every_problem_at_once(sandbox, doctor, fake_bin):
    """Checked through AWS_PROFILE: a legacy profile with an expired token and a credentials
    section of its name; the corp session's token cached for another region; shadowing
    variables; long-lived and copied keys; AWS CLI v1. (A missing, corrupt or unknown profile's
    token are exclusive with an expired one: each has its own test above.)"""
    sandbox.login(LEGACY_START_URL, refreshable=False, expires_in=-120)
    sandbox.login("corp", region="eu-west-1")  # the session says us-east-1
    key, secret = sandbox.emulator.add_static_user("222222222222", "old-laptop")
    copied = (
        "aws_access_key_id = ASIACOPIEDCOPIED1234\n"
        "aws_secret_access_key = copied-secret-access-key\n"
        "aws_session_token = copied-session-token\n"
    )
    write_credentials(
        sandbox,
        f"[legacy]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n\n"
        f"[222222222222_ReadOnly]\n{copied}",
    )
    fake_aws(fake_bin, AWS_V1)
    env = {
        "AWS_PROFILE": "legacy",
        "AWS_SECURITY_TOKEN": "stale-security-token",
        "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT12345",
        "AWS_SECRET_ACCESS_KEY": "environment-secret-key",
    }
    secrets = (
        key,
        secret,
        "copied-secret",
        "copied-session",
        "stale-security",
        "environment-secret",
    )
    status, lines = doctor(env=env, secrets=secrets)
    assert status == 1
    found = problems(lines)
    expected = [
        "legacy SSO profile",
        "expired at",
        "AWS_PROFILE=legacy is set",
        "AWS_SECURITY_TOKEN is set",
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY set outside ssoexec (key AKIA****2345)",
        "issued in eu-west-1, but the config says sso_region = us-east-1",
        "has a [legacy] section",
        f"[legacy] in ~/.aws/credentials holds a long-lived IAM user access key (AKIA****{key[-4:]}"
        ")",
        "[222222222222_ReadOnly] in ~/.aws/credentials holds temporary credentials",
        "AWS CLI v1",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for line, words in zip(found, expected, strict=True):
        assert words in line and "; fix: " in line, (words, line)
    assert lines[-1] == "summary: 10 problems found for profile legacy"
