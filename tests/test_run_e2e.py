"""End to end: the installed ssoexec script, a scratch HOME, the emulator, and a child (the
probe) that asks STS who it is, so every test proves which account and role the child got."""

import json
import os
import signal
import stat
import subprocess
import threading
from datetime import datetime, timezone

import pytest

from tests.conftest import (
    CONFIG,
    LEGACY_START_URL,
    PROBE,
    PYTHON,
    SSOEXEC,
    TOKEN_KEYS,
    run_in_terminal,
)

SSO_ADMIN_DEV = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_"
NO_AWS = {"PROBE_NO_AWS": "1"}


def test_sso_session_profile(sandbox):
    sandbox.login("corp")
    report = sandbox.probe("-p", "dev")
    assert report["account"] == "111111111111"
    assert report["arn"].startswith(SSO_ADMIN_DEV)
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    sandbox.assert_no_credentials_on_disk()


def test_legacy_profile(sandbox):
    sandbox.login(LEGACY_START_URL, refreshable=False)
    report = sandbox.probe("-p", "legacy")
    assert report["account"] == "222222222222"
    assert ":assumed-role/AWSReservedSSO_ReadOnly_" in report["arn"]
    assert report["env"]["AWS_REGION"] == "us-west-2"
    sandbox.assert_no_credentials_on_disk()


def test_role_chain_from_an_sso_profile(sandbox):
    sandbox.emulator.external_ids["arn:aws:iam::333333333333:role/Deployer"] = "ext-123"
    sandbox.login("corp")
    report = sandbox.probe("-p", "chained")
    assert report["arn"] == "arn:aws:sts::333333333333:assumed-role/Deployer/ssoexec-test"
    assume = [r for r in sandbox.emulator.requests if r["api"] == "AssumeRole"]
    assert "DurationSeconds=3600" in assume[0]["body"]
    assert "ExternalId=ext-123" in assume[0]["body"]
    sandbox.assert_no_credentials_on_disk()


def test_role_chain_two_deep(sandbox):
    sandbox.emulator.external_ids["arn:aws:iam::333333333333:role/Deployer"] = "ext-123"
    sandbox.login("corp")
    report = sandbox.probe("-p", "chained2")
    assert report["account"] == "222222222222"
    assert report["arn"].startswith("arn:aws:sts::222222222222:assumed-role/Auditor/ssoexec-")
    assert sandbox.emulator.calls["AssumeRole"] == 2
    assert "AWS_REGION" not in report["env"]  # chained2 names no region, and none is inherited


def test_static_keys_profile(sandbox):
    key, secret = sandbox.emulator.add_static_user("444444444444", "ci-user")
    sandbox.write_config(
        f"[profile st]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    report = sandbox.probe("-p", "st")
    assert report["arn"] == "arn:aws:iam::444444444444:user/ci-user"
    assert "AWS_SESSION_TOKEN" not in report["env"]
    assert "AWS_CREDENTIAL_EXPIRATION" not in report["env"]


def test_credential_process_profile(sandbox, tmp_path):
    key, secret = sandbox.emulator.add_static_user("444444444444", "proc-user")
    script = tmp_path / "creds.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"Version": 1, "AccessKeyId": "{key}", "SecretAccessKey": "{secret}", '
        '"Expiration": "2099-01-01T00:00:00Z"}\'\n'
    )
    script.chmod(0o755)
    sandbox.write_config(f"[profile proc]\ncredential_process = {script}\n")
    report = sandbox.probe("-p", "proc")
    assert report["arn"] == "arn:aws:iam::444444444444:user/proc-user"
    assert report["env"]["AWS_CREDENTIAL_EXPIRATION"] == "2099-01-01T00:00:00Z"


def test_environment_contract(sandbox):
    sandbox.login("corp")
    inherited = {
        "AWS_PROFILE": "legacy",
        "AWS_DEFAULT_PROFILE": "legacy",
        "AWS_SECURITY_TOKEN": "stale-token",
        "AWS_ACCESS_KEY_ID": "AKIASTALE",
        "AWS_SESSION_TOKEN": "stale",
        "AWS_CREDENTIAL_FILE": "/nonexistent",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "x",
        "AWS_MAX_ATTEMPTS": "3",
        "AWS_DEFAULT_OUTPUT": "json",
    }
    report = sandbox.probe("-p", "dev", env=inherited)
    env = report["env"]
    assert report["arn"].startswith(SSO_ADMIN_DEV)  # not legacy's account: the keys won
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ):
        assert name not in env, name
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SESSION_TOKEN"] != "stale"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["SSOEXEC_PROFILE"] == "dev"
    assert env["SSOEXEC_EXPIRATION"] == env["AWS_CREDENTIAL_EXPIRATION"]
    issued = sandbox.emulator.credentials_issued()[0]["expiration"]
    expected = datetime.fromtimestamp(int(issued), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert env["AWS_CREDENTIAL_EXPIRATION"] == expected
    for name in ("AWS_MAX_ATTEMPTS", "AWS_DEFAULT_OUTPUT", "AWS_ENDPOINT_URL_STS"):
        assert name in env, name


@pytest.mark.parametrize(
    ("env", "account"),
    [
        ({"AWS_PROFILE": "dev"}, "111111111111"),
        ({"AWS_DEFAULT_PROFILE": "legacy"}, "222222222222"),
        ({"AWS_PROFILE": "dev", "AWS_DEFAULT_PROFILE": "legacy"}, "111111111111"),
    ],
)
def test_profile_from_the_environment(sandbox, env, account):
    sandbox.login("corp")
    sandbox.login(LEGACY_START_URL, refreshable=False)
    assert sandbox.probe(env=env)["account"] == account


def test_region_option_and_inherited_region(sandbox):
    sandbox.login("corp")
    env = sandbox.probe("-p", "dev", "--region", "ap-south-1", env=NO_AWS)["env"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "ap-south-1"
    env = sandbox.probe("-p", "dev", env={**NO_AWS, "AWS_DEFAULT_REGION": "us-east-2"})["env"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-2"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["true"], 0),
        (["sh", "-c", "exit 7"], 7),
        (["sh", "-c", "exit 255"], 255),
        (["/etc/hostname"], 126),  # exists, not executable
        (["no-such-command-anywhere"], 127),
    ],
)
def test_exit_status(sandbox, command, status):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", *command)
    assert result.returncode == status
    assert result.stdout == ""
    if status in (126, 127):
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("ssoexec: error: ")
        assert lines[1].startswith("hint: ")


def test_exec_replaces_ssoexec(sandbox):
    """The child runs with ssoexec's own pid: nothing stays between it and the caller."""
    sandbox.login("corp")
    child = subprocess.Popen(
        [SSOEXEC, "-p", "dev", "--", PYTHON, PROBE],
        env={**sandbox.env, **NO_AWS},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = child.communicate(timeout=60)
    assert json.loads(out)["pid"] == child.pid


def test_child_killed_by_sigterm_reports_143_to_the_shell(sandbox):
    sandbox.login("corp")
    script = f'"{SSOEXEC}" -p dev -- sh -c \'kill -TERM $$\'; echo "status=$?"'
    result = subprocess.run(
        ["bash", "-c", script], env=sandbox.env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "status=143"


def test_sigpipe_ends_the_child_quietly(sandbox):
    """`ssoexec -- yes | head -1`: the child must not inherit Python's ignored SIGPIPE."""
    sandbox.login("corp")
    child = subprocess.Popen(
        [SSOEXEC, "-p", "dev", "--", "yes"],
        env=sandbox.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout.readline() == b"y\n"
    child.stdout.close()
    assert child.wait(timeout=30) == -signal.SIGPIPE
    assert child.stderr.read() == b""


ODD_ARGS = [
    "a b",
    '"double"',
    "'single'",
    "$HOME",
    "*",
    "",
    "tab\there",
    "new\nline",
    "--",
    "-p",
    "--help",
    "ünïcødé",
    "`id`",
    ";",
    "|",
    "\\",
]


def test_argv_arrives_verbatim(sandbox):
    sandbox.login("corp")
    report = sandbox.run("-p", "dev", "--", PYTHON, PROBE, *ODD_ARGS, env=NO_AWS)
    assert json.loads(report.stdout)["argv"] == ODD_ARGS


def test_stdout_of_the_child_is_untouched(sandbox):
    sandbox.login("corp")
    payload = bytes(range(256)) * 256
    code = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 256)"
    result = subprocess.run(
        [SSOEXEC, "-p", "dev", "--", PYTHON, "-c", code],
        env=sandbox.env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout == payload
    assert result.stderr == b""


def test_stdin_reaches_the_child(sandbox):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", "cat", input="hello\n", stdin=None)
    assert result.stdout == "hello\n"


def test_nested_run_for_the_same_profile_makes_no_aws_call(sandbox):
    sandbox.login("corp")
    report = sandbox.probe("-p", "dev", "--", SSOEXEC, "-p", "dev")
    assert report["arn"].startswith(SSO_ADMIN_DEV)
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1  # the outer run only


def test_nested_run_for_another_profile_replaces_the_credentials(sandbox):
    sandbox.login("corp")
    sandbox.login(LEGACY_START_URL, refreshable=False)
    report = sandbox.probe("-p", "dev", "--", SSOEXEC, "-p", "legacy")
    assert report["account"] == "222222222222"
    assert report["env"]["SSOEXEC_PROFILE"] == "legacy"
    assert sandbox.emulator.calls["GetRoleCredentials"] == 2


def test_token_near_expiry_is_refreshed_and_written_back(sandbox):
    path = sandbox.login("corp", expires_in=300)
    before = json.loads(path.read_text())
    report = sandbox.probe("-p", "dev")
    assert report["account"] == "111111111111"
    assert sandbox.emulator.calls["CreateToken"] == 1
    after = json.loads(path.read_text())
    assert list(after) == TOKEN_KEYS
    assert after["accessToken"] != before["accessToken"]
    assert after["refreshToken"] != before["refreshToken"]
    assert after["expiresAt"] > before["expiresAt"] and after["expiresAt"].endswith("Z")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == sorted([path.name, path.with_suffix(".lock").name])
    sandbox.assert_no_credentials_on_disk()


def test_valid_token_is_used_as_is(sandbox):
    path = sandbox.login("corp", expires_in=3600)
    before = path.read_bytes()
    sandbox.probe("-p", "dev")
    assert sandbox.emulator.calls["CreateToken"] == 0
    assert path.read_bytes() == before


def test_parallel_runs_refresh_once(sandbox):
    """make -j8 with a token about to expire: one refresh call, every run succeeds."""
    sandbox.login("corp", expires_in=120)
    sandbox.emulator.latency = 0.2
    results = [None] * 8

    def run(index):
        results[index] = sandbox.run("-p", "dev", "--", "true")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0] * 8, [r.stderr for r in results]
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert sandbox.emulator.calls["GetRoleCredentials"] == 8


def test_mfa_code_is_asked_on_the_terminal(sandbox):
    role = "arn:aws:iam::333333333333:role/Guarded"
    sandbox.emulator.mfa[role] = ("arn:aws:iam::111111111111:mfa/me", "123456")
    sandbox.write_config(
        CONFIG + f"[profile guarded]\nrole_arn = {role}\nsource_profile = dev\n"
        "mfa_serial = arn:aws:iam::111111111111:mfa/me\n"
    )
    sandbox.login("corp")
    status, output = run_in_terminal(
        [SSOEXEC, "-p", "guarded", "--", PYTHON, PROBE],
        sandbox.env,
        replies=[("Enter MFA code for arn:aws:iam::111111111111:mfa/me: ", "123456")],
    )
    assert status == 0, output
    report = json.loads(output[output.index("{") :])
    assert report["arn"].startswith("arn:aws:sts::333333333333:assumed-role/Guarded/")
    assert "123456\r\n" not in output.split("<replied>")[0]  # not echoed


def test_python_dash_m_ssoexec(sandbox):
    sandbox.login("corp")
    result = subprocess.run(
        [PYTHON, "-m", "ssoexec", "-p", "dev", "--", "sh", "-c", "exit 4"],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 4


def test_debug_explains_without_secrets(sandbox):
    sandbox.login("corp", expires_in=300)  # a refresh too
    result = sandbox.run("--debug", "-p", "dev", "--", "true")
    assert result.returncode == 0
    debug = result.stderr.splitlines()
    assert debug and all(line.startswith("ssoexec: debug: ") for line in debug)
    assert any("refresh" in line for line in debug)
    for secret in sandbox.emulator.issued_secrets():
        assert secret not in result.stderr


def test_token_refused_by_the_portal_is_refreshed_and_the_call_retried(sandbox):
    path = sandbox.login("corp")
    revoked = json.loads(path.read_text())["accessToken"]
    sandbox.emulator.revoke(revoked)
    report = sandbox.probe("-p", "dev")
    assert report["account"] == "111111111111"
    assert sandbox.emulator.calls["GetRoleCredentials"] == 2
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert json.loads(path.read_text())["accessToken"] != revoked


def test_no_command_starts_the_shell_with_the_credentials(sandbox):
    """`ssoexec -p dev` alone: $SHELL, given the commands on stdin as a person would type."""
    sandbox.login("corp")
    typed = f"{PYTHON} {PROBE}\n{SSOEXEC} -p dev -- {PYTHON} {PROBE}\nexit 4\n"
    result = sandbox.run("-p", "dev", env={"SHELL": "/bin/bash"}, input=typed, stdin=None)
    assert result.returncode == 4, result.stderr
    outer, nested = (json.loads(line) for line in result.stdout.splitlines())
    assert outer["account"] == nested["account"] == "111111111111"
    assert outer["env"]["SSOEXEC_PROFILE"] == "dev"
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1  # the nested run reused them


def test_without_SHELL_the_parent_shell_is_found(sandbox):
    sandbox.login("corp")
    env = {k: v for k, v in sandbox.env.items() if k != "SHELL"}
    # bash -c '...; true' keeps bash as ssoexec's parent (no exec of the last command)
    result = subprocess.run(
        ["bash", "-c", f"{SSOEXEC} -p dev; true"],
        env=env,
        input='echo "$BASH_VERSION"\n',
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the shell that ran it was bash
