"""Signing in, end to end: the installed ssoexec against the emulator, a stand-in browser
(tests/browser.py, through BROWSER as Python's webbrowser honours it), and real terminals."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests import spawn
from tests.conftest import (
    CONFIG,
    LEGACY_START_URL,
    PROBE,
    PYTHON,
    SSOEXEC,
    START_URL,
    TOKEN_KEYS,
    run_in_terminal,
)


class Browser:
    """BROWSER=<a script that records each URL it is asked to open, and acts on it>."""

    def __init__(self, sandbox, tmp_path, mode="follow"):
        self.log = tmp_path / "browser.log"
        self.pages = tmp_path / "browser.pages"
        self.log.touch()
        launcher = tmp_path / "browser"
        launcher.write_text(f'#!/bin/sh\nexec {PYTHON} {os.path.dirname(PROBE)}/browser.py "$@"\n')
        launcher.chmod(0o755)
        sandbox.env.update(
            BROWSER=str(launcher),
            BROWSER_LOG=str(self.log),
            BROWSER_PAGES=str(self.pages),
            BROWSER_MODE=mode,
        )
        self.sandbox = sandbox

    @property
    def urls(self):
        return self.log.read_text().splitlines()

    def page(self):
        return self.pages.read_text() if self.pages.exists() else ""

    def mode(self, mode):
        self.sandbox.env["BROWSER_MODE"] = mode


@pytest.fixture
def browser(sandbox, tmp_path):
    return Browser(sandbox, tmp_path)


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def start(sandbox, *args, **popen):
    """ssoexec in the background, in its own session (no terminal), stderr captured; `popen`
    adds to Popen's arguments (cwd, preexec_fn)."""
    return spawn.popen(
        [SSOEXEC, *args],
        sandbox.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


def read_until(stream, text, timeout=30):
    """Lines of `stream` up to one containing `text` (from a thread: no hang)."""
    seen = []
    done = threading.Event()

    def reader():
        for line in stream:
            seen.append(line)
            if text in line:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(timeout), "".join(seen)
    return "".join(seen)


def test_pkce_login_writes_the_aws_cli_token_file(sandbox, browser):
    result = sandbox.run("login", "-p", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    path = sandbox.token_path("corp")
    token = json.loads(path.read_text())
    assert list(token) == TOKEN_KEYS
    assert token["startUrl"] == START_URL and token["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["expiresAt"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the authorize URL exactly as the AWS CLI builds it
    [url] = browser.urls
    assert re.fullmatch(
        re.escape(sandbox.emulator.url) + r"/authorize\?response_type=code&client_id=[\w-]+"
        r"&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Foauth%2Fcallback"
        r"&state=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        r"&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=[\w-]{43}",
        url,
    )
    assert "Signed in" in browser.page()
    calls = sandbox.emulator.calls
    assert (calls["RegisterClient"], calls["Authorize"], calls["CreateToken"]) == (1, 1, 1)
    for secret in sandbox.emulator.issued_secrets():
        assert secret not in result.stderr and secret not in browser.page()
    # and the token serves a run, with no further sign-in
    report = sandbox.probe("-p", "dev")
    assert report["account"] == "111111111111"
    assert calls["CreateToken"] == 1


def test_registration_is_cached_as_the_aws_cli_does_and_reused(sandbox, browser):
    assert sandbox.run("login", "-p", "dev").returncode == 0
    assert sandbox.run("login", "--sso-session", "corp").returncode == 0
    assert sandbox.emulator.calls["RegisterClient"] == 1
    assert sandbox.emulator.calls["CreateToken"] == 2
    registrations = [
        json.loads(p.read_text())
        for p in sandbox.token_path("x").parent.glob("*.json")
        if "accessToken" not in p.read_text()
    ]
    assert len(registrations) == 1
    assert registrations[0]["grantTypes"] == ["authorization_code", "refresh_token"]
    assert registrations[0]["scopes"] == ["sso:account:access"]


def test_device_login_for_a_legacy_profile(sandbox, browser):
    result = sandbox.run("login", "-p", "legacy")
    assert result.returncode == 0, result.stderr
    [url] = browser.urls
    code = re.search(r"shows the code ([A-Z]{4}-[A-Z]{4})", result.stderr).group(1)
    assert url.endswith(f"/device?user_code={code}")
    token = json.loads(sandbox.token_path(LEGACY_START_URL).read_text())
    assert token["startUrl"] == LEGACY_START_URL
    assert "refreshToken" not in token  # a legacy profile registers without scopes
    assert sandbox.emulator.calls["StartDeviceAuthorization"] == 1
    assert sandbox.probe("-p", "legacy")["account"] == "222222222222"


def test_device_code_without_a_browser_approved_elsewhere(sandbox, browser):
    child = start(sandbox, "login", "-p", "dev", "--device-code", "--no-browser")
    said = read_until(child.stderr, "shows the code")
    code = re.search(r"shows the code ([A-Z]{4}-[A-Z]{4})", said).group(1)
    assert f"/device?user_code={code}" in said
    sandbox.emulator.approve_device(code)
    assert child.wait(timeout=30) == 0
    assert browser.urls == []
    assert "refreshToken" in json.loads(sandbox.token_path("corp").read_text())


def test_device_login_slows_down_when_told(sandbox, browser):
    sandbox.emulator.slow_down_polls = 1
    assert sandbox.run("login", "-p", "legacy").returncode == 0
    assert sandbox.emulator.calls["CreateToken"] >= 2
    first, second = sandbox.emulator.device_polls()[:2]  # SlowDown, then 5 s more (RFC 8628)
    assert second - first >= sandbox.emulator.device_interval + 5


@pytest.mark.parametrize(
    ("args", "knob", "words"),
    [
        (["-p", "legacy"], {"device_visit_behavior": "deny"}, "was denied in the browser"),
        (
            ["-p", "legacy"],
            {"device_visit_behavior": "ignore", "device_expires_in": 2},
            "expired before it was approved",
        ),
        (["-p", "dev"], {"authorize_behavior": "deny"}, "was denied in the browser"),
    ],
    ids=["device-denied", "device-expired", "pkce-denied"],
)
def test_sign_in_refused_or_abandoned(sandbox, browser, args, knob, words):
    for name, value in knob.items():
        setattr(sandbox.emulator, name, value)
    result = sandbox.run("login", *args, timeout=60)
    assert result.returncode == 125
    lines = result.stderr.splitlines()
    assert words in lines[-2] and lines[-1].startswith(f"hint: run `ssoexec login {args[0]}")
    assert not list(sandbox.token_path("x").parent.glob("*.json")) or all(
        "accessToken" not in p.read_text() for p in sandbox.token_path("x").parent.glob("*.json")
    )


def test_pkce_with_a_forged_challenge_is_refused(sandbox, browser):
    """A code obtained with another code_challenge (a forged or replayed request) must not
    be exchanged: AWS checks our code verifier against it, and the browser is told."""
    browser.mode("tamper")
    result = sandbox.run("login", "-p", "dev")
    assert result.returncode == 125
    assert "AWS refused the authorization code" in result.stderr
    assert "Sign-in failed" in browser.page()
    assert not sandbox.token_path("corp").exists()


def test_pkce_ignores_a_callback_with_the_wrong_state(sandbox, browser):
    sandbox.emulator.authorize_behavior = "wrong_state"
    child = start(sandbox, "login", "-p", "dev")
    read_until(child.stderr, "ignored a browser callback that is not from this sign-in")
    assert child.poll() is None  # still waiting for the real one
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 130
    assert "Not this sign-in" in browser.page()
    assert not sandbox.token_path("corp").exists()


def test_no_browser_prints_the_link_to_open(sandbox, browser):
    child = start(sandbox, "login", "-p", "dev", "--no-browser")
    said = read_until(child.stderr, "sign in at: ")
    url = said.split("sign in at: ", 1)[1].split()[0]
    with urllib.request.urlopen(url, timeout=30) as page:  # a person opening it by hand
        assert "Signed in" in page.read().decode()
    assert child.wait(timeout=30) == 0
    assert browser.urls == []
    assert sandbox.token_path("corp").exists()


def test_ctrl_c_while_waiting_leaves_no_file(sandbox, browser):
    browser.mode("log")
    child = start(sandbox, "login", "-p", "dev")
    read_until(child.stderr, "waiting for the browser")
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 130
    cache = sandbox.token_path("corp").parent
    assert [p.name for p in cache.iterdir() if "accessToken" in p.read_text()] == []
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_boto3_uses_the_token_ssoexec_login_wrote(sandbox, browser):
    assert sandbox.run("login", "-p", "dev").returncode == 0
    code = (
        "import boto3; c = boto3.Session(profile_name='dev').get_credentials()"
        ".get_frozen_credentials(); print(c.access_key)"
    )
    result = subprocess.run(
        [PYTHON, "-c", code], env=sandbox.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ASIA")
    assert sandbox.emulator.calls["CreateToken"] == 1  # boto3 used it as it was


def test_ssoexec_uses_a_token_another_tool_wrote(sandbox):
    """The JavaScript SDK rewrites the file with milliseconds and keys of its own."""
    path = sandbox.login("corp")
    token = json.loads(path.read_text())
    token["expiresAt"] = token["expiresAt"].replace("Z", ".000Z")
    token["someOtherKey"] = "kept by other SDKs"
    path.write_text(json.dumps(token, indent=2))
    assert sandbox.probe("-p", "dev")["account"] == "111111111111"


@pytest.mark.parametrize(
    ("env", "terminal"),
    [({}, False), ({"CI": "true"}, True), ({"SSOEXEC_LOGIN": "never"}, True)],
    ids=["no-terminal", "ci", "login-never"],
)
def test_nobody_there_fails_at_once_without_a_browser(sandbox, browser, env, terminal):
    sandbox.env.update(env)
    argv = [SSOEXEC, "-p", "dev", "--", "touch", str(sandbox.tmp / "ran")]
    if terminal:
        status, output = run_in_terminal(argv, sandbox.env, timeout=20)
    else:
        result = sandbox.run(*argv[1:], timeout=20)
        status, output = result.returncode, result.stderr
    assert status == 125
    assert "hint: run `ssoexec login -p dev`, then run again" in output
    assert browser.urls == []
    assert sum(sandbox.emulator.calls.values()) == 0
    assert not (sandbox.tmp / "ran").exists()


def test_login_never_option_at_a_terminal(sandbox, browser):
    status, _ = run_in_terminal(
        [SSOEXEC, "--login", "never", "-p", "dev", "--", "true"], sandbox.env, timeout=20
    )
    assert status == 125 and browser.urls == []


def test_a_person_at_a_terminal_is_signed_in_then_the_command_runs(sandbox, browser):
    status, output = run_in_terminal([SSOEXEC, "-p", "dev", "--", PYTHON, PROBE], sandbox.env)
    assert status == 0, output
    assert "signed in to sso-session 'corp'" in output
    report = json.loads(output[output.index("{") :])
    assert report["account"] == "111111111111"
    assert len(browser.urls) == 1


def test_a_refused_legacy_token_leads_to_a_new_sign_in(sandbox, browser):
    path = sandbox.login(LEGACY_START_URL, refreshable=False)
    sandbox.emulator.revoke(json.loads(path.read_text())["accessToken"])
    status, output = run_in_terminal([SSOEXEC, "-p", "legacy", "--", PYTHON, PROBE], sandbox.env)
    assert status == 0, output
    assert json.loads(output[output.index("{") :])["account"] == "222222222222"
    assert sandbox.emulator.calls["StartDeviceAuthorization"] == 1


def test_parallel_runs_with_no_token_open_one_browser(sandbox, browser):
    """make -j8 at a terminal, signed out: one sign-in, one browser tab, eight runs."""
    sandbox.emulator.latency = 0.05
    results = [None] * 8

    def run(index):
        results[index] = run_in_terminal([SSOEXEC, "-p", "dev", "--", "true"], sandbox.env)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [0] * 8, results
    assert len(browser.urls) == 1
    calls = sandbox.emulator.calls
    assert (calls["RegisterClient"], calls["Authorize"], calls["CreateToken"]) == (1, 1, 1)
    assert calls["GetRoleCredentials"] == 8


def test_a_sign_in_killed_midway_does_not_block_the_next(sandbox, browser):
    browser.mode("hang")
    first = start(sandbox, "login", "-p", "dev")
    assert wait_for(lambda: len(browser.urls) == 1)  # it holds the lock, waiting on the browser
    os.killpg(first.pid, signal.SIGKILL)  # ssoexec and its hanging browser
    first.wait(timeout=10)
    browser.mode("follow")
    result = sandbox.run("login", "-p", "dev", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "waiting for another ssoexec" not in result.stderr
    assert sandbox.token_path("corp").exists()


def sign_in_over_ssh(sandbox):
    """`ssoexec login -p dev` from an SSH session: it must use a device code; approved."""
    sandbox.env.update(SSH_CONNECTION="10.0.0.1 5555 10.0.0.2 22")
    child = start(sandbox, "login", "-p", "dev")
    said = read_until(child.stderr, "shows the code")
    assert "with a device code" in said
    sandbox.emulator.approve_device(re.search(r"code ([A-Z]{4}-[A-Z]{4})", said).group(1))
    assert child.wait(timeout=30) == 0


def test_ssh_session_signs_in_with_a_device_code(sandbox, tmp_path):
    sign_in_over_ssh(sandbox)
    assert sandbox.emulator.calls["Authorize"] == 0


def test_logout_ends_the_session_and_keeps_the_registration(sandbox, browser):
    assert sandbox.run("login", "-p", "dev").returncode == 0
    cache = sandbox.token_path("corp").parent
    result = sandbox.run("logout", "-p", "dev")
    assert result.returncode == 0, result.stderr
    assert "signed out" in result.stderr
    assert sandbox.emulator.calls["Logout"] == 1
    assert not sandbox.token_path("corp").exists()
    assert len(list(cache.glob("*.json"))) == 1  # the client registration
    again = sandbox.run("-p", "dev", "--", "true")
    assert again.returncode == 125 and "is missing" in again.stderr


def test_logout_all(sandbox):
    sandbox.login("corp")
    sandbox.login(LEGACY_START_URL, refreshable=False)
    result = sandbox.run("logout", "--all")
    assert result.returncode == 0, result.stderr
    assert sandbox.emulator.calls["Logout"] == 2
    assert not sandbox.token_path("corp").exists()
    assert not sandbox.token_path(LEGACY_START_URL).exists()


def test_logout_when_signed_out(sandbox):
    result = sandbox.run("logout", "-p", "dev")
    assert result.returncode == 0
    assert "not signed in" in result.stderr


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["login", "-p", "st"], 125, "does not use SSO"),
        (["login", "-p", "dev", "--sso-session", "corp"], 2, "not both"),
        (["login", "--sso-session", "corp2"], 125, "did you mean 'corp'"),
        (["logout", "--all", "-p", "dev"], 2, "--all takes no -p"),
    ],
)
def test_login_bad_input(sandbox, args, status, words):
    sandbox.write_config(
        CONFIG + "[profile st]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n"
    )
    result = sandbox.run(*args)
    assert result.returncode == status
    assert words in result.stderr
    assert len(result.stderr.splitlines()) == 2


def test_login_for_a_role_chain_signs_in_to_its_sso_source(sandbox, browser):
    result = sandbox.run("login", "-p", "chained2")
    assert result.returncode == 0, result.stderr
    assert sandbox.token_path("corp").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX")
def test_subcommand_names_after_dashes_are_programs(sandbox):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", "login", "--help")  # /bin/login, not ours
    assert "Sign in to AWS SSO" not in result.stdout + result.stderr


def registration_file(sandbox):
    cache = sandbox.token_path("x").parent
    return next(p for p in cache.glob("*.json") if "accessToken" not in p.read_text())


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "expiresAt": 5})),
            "expiresAt",
        ),
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "clientId": [1]})),
            "clientId",
        ),
        (lambda p: (p.unlink(), os.mkfifo(p)), "is a FIFO"),
    ],
    ids=["expiresAt-a-number", "clientId-a-list", "a-fifo"],
)
def test_an_unusable_registration_cache_is_replaced(sandbox, browser, change, said):
    assert sandbox.run("login", "-p", "dev").returncode == 0
    change(registration_file(sandbox))
    result = sandbox.run("login", "-p", "dev", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "registering anew" in result.stderr and said in result.stderr
    assert sandbox.emulator.calls["RegisterClient"] == 2
    assert stat.S_ISREG(registration_file(sandbox).stat().st_mode)


def test_a_sign_in_whose_token_cannot_be_saved_says_so(sandbox, browser, tmp_path):
    import resource

    launcher = tmp_path / "browser"  # the browser lifts the soft `ulimit -f 0` ssoexec runs with
    launcher.write_text(launcher.read_text().replace("exec ", "ulimit -f unlimited; exec ", 1))
    limit = (0, resource.RLIM_INFINITY)
    result = sandbox.run(
        "login", "-p", "dev", preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    )
    assert result.returncode == 125, result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith("ssoexec: error: signed in to sso-session 'corp', but the token")
    assert "ulimit -f unlimited" in error and hint.startswith("hint: fix that")
    assert "unexpected" not in result.stderr
    cache = sandbox.token_path("corp").parent
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
