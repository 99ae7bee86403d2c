"""A session that signs in with a device code by default (ssoexec_device_code in its
[sso-session]), and WSL, where the browser is Windows' (stand-ins for wslview and explorer.exe
on PATH that record how they were called, then act as tests/browser.py does)."""

import json
import os
import re
import signal
from pathlib import Path

import pytest

from ssoexec.login import is_wsl
from tests.conftest import CONFIG, PROBE, PYTHON, SSOEXEC, run_in_terminal
from tests.test_login_e2e import Browser, read_until, sign_in_over_ssh, start, wait_for

DEVICE_DEFAULT = CONFIG.replace(
    "sso_registration_scopes = sso:account:access\n",
    "sso_registration_scopes = sso:account:access\nssoexec_device_code = true\n",
    1,
)


@pytest.fixture
def browser(sandbox, tmp_path):
    return Browser(sandbox, tmp_path)


@pytest.fixture
def device_default(sandbox):
    assert DEVICE_DEFAULT != CONFIG
    sandbox.write_config(DEVICE_DEFAULT)
    return sandbox


# The per-session default


def test_login_uses_the_sessions_device_code_default(device_default, browser):
    sandbox = device_default
    result = sandbox.run("login", "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert "with a device code" in result.stderr
    code = re.search(r"shows the code ([A-Z]{4}-[A-Z]{4})", result.stderr).group(1)
    [url] = browser.urls  # the browser still opens, on the device page
    assert url.endswith(f"/device?user_code={code}")
    calls = sandbox.emulator.calls
    assert (calls["StartDeviceAuthorization"], calls["Authorize"]) == (1, 0)
    assert "refreshToken" in json.loads(sandbox.token_path("corp").read_text())
    # botocore ignores the key: the run reads the config and uses the token
    assert sandbox.probe("-p", "dev")["account"] == "111111111111"


def test_a_runs_sign_in_uses_the_sessions_device_code_default(device_default, browser):
    sandbox = device_default
    status, output = run_in_terminal([SSOEXEC, "-p", "dev", "--", PYTHON, PROBE], sandbox.env)
    assert status == 0, output
    assert "signing in to sso-session 'corp'" in output and "with a device code" in output
    assert json.loads(output[output.index("{") :])["account"] == "111111111111"
    assert sandbox.emulator.calls["Authorize"] == 0
    assert sandbox.emulator.calls["StartDeviceAuthorization"] == 1


def test_no_browser_with_the_device_code_default(device_default, browser):
    sandbox = device_default
    child = start(sandbox, "login", "-p", "dev", "--no-browser")
    said = read_until(child.stderr, "shows the code")
    assert "with a device code" in said
    sandbox.emulator.approve_device(re.search(r"code ([A-Z]{4}-[A-Z]{4})", said).group(1))
    assert child.wait(timeout=30) == 0
    assert browser.urls == []


def test_configure_signs_in_with_the_device_code_default_and_keeps_the_key(device_default, browser):
    sandbox = device_default
    status, output = run_in_terminal([SSOEXEC, "configure", "--sso-session", "corp"], sandbox.env)
    assert status == 0, output
    assert "with a device code" in output
    assert sandbox.emulator.calls["Authorize"] == 0
    assert sandbox.config.read_text().startswith(DEVICE_DEFAULT)  # [sso-session corp] as it was


@pytest.mark.parametrize("value", ["false", "FALSE", " False "])
def test_false_keeps_pkce(sandbox, browser, value):
    sandbox.write_config(
        DEVICE_DEFAULT.replace("ssoexec_device_code = true", f"ssoexec_device_code ={value}")
    )
    result = sandbox.run("login", "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert "with the browser (PKCE)" in result.stderr
    assert sandbox.emulator.calls["Authorize"] == 1


@pytest.mark.parametrize("args", [["login", "--sso-session", "corp"], ["-p", "dev", "--", "true"]])
def test_a_value_that_is_not_true_or_false_is_refused(sandbox, args):
    sandbox.write_config(DEVICE_DEFAULT.replace("= true", "= yes please\x1b[2J"))
    before = sandbox.files()
    result = sandbox.run(*args)
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "ssoexec: error: [sso-session corp] has ssoexec_device_code = yes please?[2J, "
        "not true or false",
        "hint: set ssoexec_device_code = true (sign in with a device code) or false in "
        "[sso-session corp]",
    ]
    assert sum(sandbox.emulator.calls.values()) == 0
    assert sandbox.files() == before


# WSL


@pytest.mark.parametrize(
    ("release", "environ", "expected"),
    [
        ("5.15.153.1-microsoft-standard-WSL2\n", {}, True),  # WSL 2
        ("4.4.0-19041-Microsoft\n", {}, True),  # WSL 1
        ("6.8.0-45-generic\n", {}, False),
        ("6.8.0-45-generic\n", {"WSL_DISTRO_NAME": "Ubuntu"}, True),
        ("", {"WSL_DISTRO_NAME": ""}, False),
        ("", {}, False),
    ],
)
def test_is_wsl(release, environ, expected):
    assert is_wsl(release, environ) is expected


class WindowsBrowser:
    """Stand-ins for WSL's launchers of the Windows browser, in a folder put first on PATH: each
    appends its name and arguments to a log, then follows the link as tests/browser.py does."""

    def __init__(self, sandbox, tmp_path, *names, status=0):
        self.folder = tmp_path / "windows-bin"
        self.folder.mkdir()
        self.log = tmp_path / "launched.log"
        self.log.touch()
        for name in names:
            launcher = self.folder / name
            launcher.write_text(
                "#!/bin/sh\n"
                f'printf \'%s\\n\' "$(basename "$0") $*" >> {self.log}\n'
                f"echo $$ > {self.log}.pid\n"
                f'{PYTHON} {os.path.dirname(PROBE)}/browser.py "$@"\n'
                f"exit {status}\n"
            )
            launcher.chmod(0o755)
        sandbox.env.pop("BROWSER", None)
        sandbox.env.update(
            WSL_DISTRO_NAME="Ubuntu",
            PATH=f"{self.folder}{os.pathsep}{sandbox.env['PATH']}",
            BROWSER_LOG=str(tmp_path / "browser.log"),
            BROWSER_MODE="follow",
        )

    @property
    def launched(self):
        return self.log.read_text().splitlines()

    def gone(self):
        """Whether the launcher has exited and been waited for (a zombie still exists)."""
        try:
            os.kill(int(Path(f"{self.log}.pid").read_text()), 0)
        except (FileNotFoundError, ValueError):
            return False
        except ProcessLookupError:
            return True
        return False


def test_wsl_opens_the_windows_browser_with_wslview(sandbox, tmp_path):
    windows = WindowsBrowser(sandbox, tmp_path, "wslview", "explorer.exe")
    result = sandbox.run("login", "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert "with the browser (PKCE)" in result.stderr
    [launched] = windows.launched
    assert re.fullmatch(
        "wslview " + re.escape(sandbox.emulator.url) + r"/authorize\?response_type=code&\S+",
        launched,
    )
    assert sandbox.emulator.calls["Authorize"] == 1
    assert "refreshToken" in json.loads(sandbox.token_path("corp").read_text())


def test_wsl_without_wslview_uses_explorer_exe(sandbox, tmp_path):
    # explorer.exe exits 1 even when it opened the page: that is no failure
    windows = WindowsBrowser(sandbox, tmp_path, "explorer.exe", status=1)
    result = sandbox.run("login", "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    [launched] = windows.launched
    assert launched.startswith(f"explorer.exe {sandbox.emulator.url}/authorize?")
    assert "could not open a browser" not in result.stderr


def test_wsl_explorer_exe_exiting_1_is_not_a_failure(sandbox, tmp_path):
    windows = WindowsBrowser(sandbox, tmp_path, "explorer.exe", status=1)
    sandbox.env["BROWSER_MODE"] = "log"  # nobody follows the link: the sign-in waits
    child = start(sandbox, "login", "--sso-session", "corp")
    try:
        assert wait_for(windows.gone)  # ssoexec has its exit status
        said = read_until(child.stderr, "waiting for the browser")
    finally:
        child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 130
    said += child.stderr.read()
    assert "could not open a browser" not in said
    assert len(windows.launched) == 1


def test_wsl_a_failing_wslview_says_to_open_the_link(sandbox, tmp_path):
    windows = WindowsBrowser(sandbox, tmp_path, "wslview", status=1)
    sandbox.env["BROWSER_MODE"] = "log"  # nobody follows the link
    child = start(sandbox, "login", "--sso-session", "corp")
    try:
        said = read_until(child.stderr, "could not open a browser")
    finally:
        child.kill()
        child.wait(timeout=30)
    assert "sign in at: " in said
    assert len(windows.launched) == 1


def test_wsl_device_code_default_opens_the_device_page_in_windows(device_default, tmp_path):
    windows = WindowsBrowser(device_default, tmp_path, "wslview")
    result = device_default.run("login", "-p", "dev")
    assert result.returncode == 0, result.stderr
    code = re.search(r"shows the code ([A-Z]{4}-[A-Z]{4})", result.stderr).group(1)
    [launched] = windows.launched
    assert launched.startswith("wslview ") and launched.endswith(f"/device?user_code={code}")


def test_wsl_over_ssh_opens_no_windows_browser(sandbox, tmp_path):
    windows = WindowsBrowser(sandbox, tmp_path, "wslview")
    sign_in_over_ssh(sandbox)
    assert windows.launched == []
