"""The token cache when it is not what it should be (issue 9): a cache that cannot be written,
token and lock files of the wrong kind or shape, a refresh token AWS refused, planted links.
End to end through the installed script; each run must end, cleanly, with what to do."""

import json
import os
import resource
import stat
import subprocess
import threading

import botocore.session
import pytest

from ssoexec import clients
from ssoexec.errors import ConfigError
from tests.conftest import LEGACY_START_URL

HANG = 30  # seconds after which a run is taken to hang (a subprocess timeout, not a measure)


def file_size_limit(limit):
    """preexec_fn: `ulimit -f` in bytes for the run (EFBIG past it; Python ignores SIGXFSZ)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def clean_failure(result, *words, hint=""):
    """One error line naming `words`, one hint line, exit 125, no traceback."""
    lines = result.stderr.splitlines()
    assert result.returncode == 125, result.stderr
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]
    assert lines[1].startswith("hint: ") and hint in lines[1], lines[1]
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    return lines


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".ssoexec"))


# ---------------------------------------------------------------- 1. a token that cannot be saved


def test_a_valid_token_that_cannot_be_renewed_is_used_without_spending_its_refresh_token(sandbox):
    path = sandbox.login("corp", expires_in=300)  # in the refresh window, still valid
    before = path.read_bytes()
    result = sandbox.run("-p", "dev", "--", "true", preexec_fn=file_size_limit(0))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot be renewed" in lines[0] and "ulimit -f" in lines[0]
    assert sandbox.emulator.calls["CreateToken"] == 0  # the refresh token is not spent
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


def test_an_expired_token_that_cannot_be_renewed_keeps_its_refresh_token(sandbox):
    path = sandbox.login("corp", expires_in=-60)
    before = path.read_bytes()
    result = sandbox.run("-p", "dev", "--", "true", preexec_fn=file_size_limit(0))
    clean_failure(result, "expired at", "cannot be renewed", hint="ulimit -f unlimited")
    assert sandbox.emulator.calls["CreateToken"] == 0
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []
    # Once the limit is lifted, the refresh token kept works.
    assert sandbox.run("-p", "dev", "--", "true").returncode == 0
    assert sandbox.emulator.calls["CreateToken"] == 1


def test_a_renewed_token_that_fails_to_save_serves_this_run(sandbox):
    """The probe passes, the real write fails (the new token is larger than the size limit):
    the new token is used, one line says so, and no half-written file is left."""
    path = sandbox.login("corp", expires_in=300)
    before = path.read_bytes()
    sandbox.emulator.access_token_bytes = 12000  # the renewed file: ~16 KB
    result = sandbox.run("-p", "dev", "--", "true", preexec_fn=file_size_limit(8192))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "was not saved" in lines[0] and "ssoexec login -p dev" in lines[0], lines[0]
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


# ---------------------------------------------------------------- 2. files of the wrong kind


def plant(path, kind):
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


KINDS = [("fifo", "a FIFO"), ("zero", "a link to a device")]


@pytest.mark.parametrize(("kind", "said"), KINDS)
def test_a_token_file_of_the_wrong_kind_fails_the_run_at_once(sandbox, kind, said):
    plant(sandbox.token_path("corp"), kind)
    result = sandbox.run("-p", "dev", "--", "true", timeout=HANG)
    clean_failure(result, said, "not a token file", hint="rm -r")


@pytest.mark.parametrize(("kind", "said"), KINDS)
def test_list_doctor_and_logout_say_what_is_wrong_with_such_a_file(sandbox, kind, said):
    plant(sandbox.token_path("corp"), kind)
    listed = sandbox.run("list", timeout=HANG)
    assert listed.returncode == 0, listed.stderr
    assert f"it is {said}, not a token file" in listed.stdout
    doctor = sandbox.run("doctor", "-p", "dev", timeout=HANG)
    assert doctor.returncode == 1
    assert any(f"is {said}" in line for line in doctor.stdout.splitlines() if "PROBLEM" in line)
    logout = sandbox.run("logout", "--all", timeout=HANG)
    assert logout.returncode == 1
    assert f"is {said}" in logout.stderr and "Traceback" not in logout.stderr


# ---------------------------------------------------------------- 3. the `unexpected X` catalogue


def test_a_lock_that_is_a_directory(sandbox):
    path = sandbox.login("corp", expires_in=300)  # a refresh: the lock is needed
    path.with_suffix(".lock").mkdir()
    clean_failure(sandbox.run("-p", "dev", "--", "true"), "is a directory", hint="rm -r")
    assert sandbox.emulator.calls["CreateToken"] == 0


def test_a_lock_owned_by_another_user(sandbox):
    path = sandbox.login("corp", expires_in=300)
    lock = path.with_suffix(".lock")
    lock.touch()
    os.chown(lock, 4242, 4242)
    result = sandbox.run("-p", "dev", "--", "true")
    clean_failure(result, "belongs to another user (uid 4242)", hint=f"rm -r {lock}")
    assert sandbox.emulator.calls["CreateToken"] == 0


def test_a_cache_directory_that_is_a_file(sandbox):
    cache = sandbox.token_path("corp").parent
    cache.parent.mkdir(parents=True)
    cache.write_text("not a directory")
    result = sandbox.run("-p", "dev", "--", "true")
    clean_failure(result, "a folder above it is a file", hint="move that file away")


def test_a_token_nested_too_deeply(sandbox):
    path = sandbox.token_path("corp")
    path.parent.mkdir(parents=True)
    path.write_text("[" * 30000 + "]" * 30000)  # under the size limit, past the parser's depth
    result = sandbox.run("-p", "dev", "--", "true")
    clean_failure(result, "nested too deeply", hint=str(path))


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("registrationExpiresAt", 5, "its registrationExpiresAt is not a string"),
        ("clientId", {"id": 1}, "its clientId is not a string"),
        ("startUrl", 7, "its startUrl is not a string"),
        ("region", "eu west 1", "its region 'eu west 1' is not a region name"),
    ],
)
def test_a_token_field_of_the_wrong_type_or_shape(sandbox, key, value, said):
    path = sandbox.login("corp", expires_in=300)
    path.write_text(json.dumps({**json.loads(path.read_text()), key: value}))
    clean_failure(sandbox.run("-p", "dev", "--", "true"), said, hint=str(path))
    clean_failure(sandbox.run("logout", "-p", "dev"), said, hint=str(path))
    assert sum(sandbox.emulator.calls.values()) == 0
    assert path.exists()


# ---------------------------------------------------------------- 4. logout --all


def test_logout_all_signs_out_of_every_session_it_can(sandbox):
    good = [sandbox.login("corp"), sandbox.login(LEGACY_START_URL, refreshable=False)]
    bad = good[0].parent / ("0" * 40 + ".json")  # sorts first
    bad.write_text(json.dumps({**json.loads(good[0].read_text()), "region": "eu west 1"}))
    result = sandbox.run("logout", "--all")
    assert result.returncode == 1, result.stderr
    assert sandbox.emulator.calls["Logout"] == 2
    assert not any(path.exists() for path in good)
    assert bad.exists()
    lines = result.stderr.splitlines()
    assert sum("signed out of" in line for line in lines) == 2
    errors = [line for line in lines if line.startswith("ssoexec: error: ")]
    assert len(errors) == 1 and bad.name in errors[0] and "not a region name" in errors[0]
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- 5. a refused refresh token


def test_a_refused_refresh_token_is_sent_once_for_all_parallel_runs(sandbox):
    path = sandbox.login("corp", expires_in=-60)
    sandbox.emulator.revoke_refresh_tokens()
    before = path.read_bytes()
    results = [None] * 20

    def run(index):
        results[index] = sandbox.run("-p", "dev", "--", "true", timeout=HANG * 4)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert result.returncode == 125, result.stderr
        last = result.stderr.splitlines()[-2:]
        assert "AWS rejected its refresh token" in last[0], result.stderr
        assert "ssoexec login -p dev" in last[1], result.stderr
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert path.read_bytes() == before  # still the AWS CLI's file, as it was
    lock = path.with_suffix(".lock").read_text()
    assert json.loads(before)["refreshToken"] not in lock  # a hash of it at most


# ---------------------------------------------------------------- 7. no secret on stderr


@pytest.mark.parametrize("debug", [[], ["--debug"]])
@pytest.mark.parametrize("key", ["accessToken", "refreshToken", "clientSecret", "clientId"])
def test_a_malformed_secret_is_never_shown(sandbox, key, debug):
    path = sandbox.login("corp", expires_in=300)  # a refresh sends every one of them
    data = json.loads(path.read_text())
    secret = f"SECRET-{key}-{data[key][-12:]}"
    path.write_text(json.dumps({**data, key: [secret]}))
    result = sandbox.run(*debug, "-p", "dev", "--", "true")
    assert result.returncode == 125
    assert "SECRET-" not in result.stderr and data[key][-12:] not in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


def test_botocore_validation_errors_are_told_without_the_values(tmp_path, monkeypatch):
    """botocore's ParamValidationError quotes what it refused: translate_errors must not."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9")  # never reached
    client = botocore.session.Session().create_client("sso-oidc", region_name="us-east-1")
    with pytest.raises(ConfigError) as caught, clients.translate_errors("refreshing"):
        client.create_token(
            grantType="refresh_token",
            clientId="client",
            clientSecret="SECRET-client",
            refreshToken=["SECRET-refresh"],
        )
    error = caught.value
    assert "SECRET" not in error.message + error.hint
    assert error.__suppress_context__ and error.__cause__ is None


# ---------------------------------------------------------------- 11. cache hygiene


def test_a_planted_lock_symlink_is_refused_and_not_followed(sandbox, tmp_path):
    path = sandbox.login("corp", expires_in=300)
    target = tmp_path / "somewhere-else"
    path.with_suffix(".lock").symlink_to(target)
    result = sandbox.run("-p", "dev", "--", "true")
    clean_failure(result, "is a symbolic link", hint="rm")
    assert not target.exists()
    assert sandbox.emulator.calls["CreateToken"] == 0


def test_directories_are_private_whatever_the_umask(sandbox):
    result = sandbox.run("logout", "-p", "dev", preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr
    for folder in (sandbox.aws / "sso", sandbox.aws / "sso" / "cache"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_the_new_token_file_is_private_whatever_the_umask(sandbox):
    path = sandbox.login("corp", expires_in=300)
    result = sandbox.run("-p", "dev", "--", "true", preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr
    assert sandbox.emulator.calls["CreateToken"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_suffix(".lock").stat().st_mode) == 0o600


def test_no_test_hangs_on_a_fifo_registration(sandbox):
    """`logout --all` reads every *.json: a FIFO among them is reported, not waited on."""
    sandbox.login("corp")
    plant(sandbox.token_path("corp").parent / ("f" * 40 + ".json"), "fifo")
    try:
        result = sandbox.run("logout", "--all", timeout=HANG)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure being guarded against
        pytest.fail("logout --all hangs on a FIFO")
    assert result.returncode == 1
    assert sandbox.emulator.calls["Logout"] == 1
