"""`ssoexec console`, end to end through the installed script against the emulator's
federation endpoint (reached through AWS_ENDPOINT_URL_SIGNIN, as any botocore endpoint)."""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest

from tests.conftest import (
    CONFIG,
    LEGACY_START_URL,
    SSOEXEC,
    START_URL,
    assert_one_error,
    run_in_terminal,
)
from tests.test_direct_role_e2e import only_role_in

DEV_ARN = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_"
LEGACY_ARN = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_"
CHAINED_ARN = "arn:aws:sts::333333333333:assumed-role/Deployer/ssoexec-test"

# A stand-in for a browser: records its argv, waits for GO (if set) and opens the URL, following
# redirects as a browser does; writes the page it landed on, then asks for the URL again.
BROWSER = """\
import json, os, sys, time, urllib.error, urllib.request
with open(os.environ["BROWSER_ARGV"], "a") as out:
    out.write(json.dumps(sys.argv) + "\\n")
go = os.environ.get("BROWSER_GO")
deadline = time.monotonic() + 60
while go and not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
if os.environ.get("BROWSER_MODE") == "ignore":
    sys.exit(0)
url = sys.argv[-1]
if os.environ.get("BROWSER_MODE") == "peek":  # only where the link leads (no network here)
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=30)
    except urllib.error.HTTPError as error:
        with open(os.environ["BROWSER_PAGE"], "w") as out:
            json.dump({"status": error.code, "location": error.headers["Location"]}, out)
    sys.exit(0)
with urllib.request.urlopen(url, timeout=30) as page:
    landed, body = page.geturl(), page.read().decode()
try:
    urllib.request.urlopen(url, timeout=10)
    again = "answered"
except urllib.error.HTTPError as error:
    again = str(error.code)
except OSError:
    again = "refused"
with open(os.environ["BROWSER_PAGE"], "w") as out:
    json.dump({"landed": landed, "body": body, "again": again}, out)
"""


@pytest.fixture
def signed_in(sandbox):
    sandbox.login("corp")
    sandbox.login("https://d-legacy0001.awsapps.com/start")
    return sandbox


@pytest.fixture
def browser(sandbox, tmp_path):
    """BROWSER=a script on PATH that records its argv and opens the URL like a browser."""
    script = tmp_path / "bin" / "fake-browser"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n{BROWSER}")
    script.chmod(0o755)
    files = {
        "argv": tmp_path / "argv.jsonl",
        "page": tmp_path / "page.json",
        "go": tmp_path / "go",
    }
    sandbox.env.update(
        BROWSER=str(script),
        BROWSER_ARGV=str(files["argv"]),
        BROWSER_PAGE=str(files["page"]),
        PATH=f"{script.parent}{os.pathsep}{sandbox.env['PATH']}",
    )
    return files


def open_printed(result) -> str:
    """The page the printed console URL leads to (the run must have succeeded)."""
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert "\n" not in url and url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=30) as page:
        return page.read().decode()


def console_line(body: str, name: str) -> str:
    return next(line for line in body.splitlines() if f"<p>{name}: " in line)


@pytest.mark.parametrize(
    ("profile", "arn", "region", "issuer"),
    [
        ("dev", DEV_ARN, "eu-west-1", START_URL),
        ("legacy", LEGACY_ARN, "us-west-2", LEGACY_START_URL),
        ("chained", CHAINED_ARN, "eu-central-1", ""),  # no portal to go back to
    ],
)
def test_print_signs_in_as_the_profiles_role(signed_in, profile, arn, region, issuer):
    result = signed_in.run("console", "-p", profile, "--print")
    body = open_printed(result)
    assert arn in console_line(body, "Role")
    home = f"https://{region}.console.aws.amazon.com/console/home?region={region}"
    assert console_line(body, "Destination") == f"<p>Destination: {home}</p>"
    assert result.stderr == ""  # not a terminal: no warning either
    [sign_in] = signed_in.emulator.console_sign_ins()
    assert sign_in["destination"] == home
    assert sign_in["session_duration"] is None
    assert sign_in["issuer"] == issuer


def test_print_with_service_region_and_destination(signed_in):
    open_printed(signed_in.run("console", "-p", "dev", "--print", "--service", "lambda"))
    open_printed(signed_in.run("console", "-p", "dev", "--print", "--region", "us-east-2"))
    page = "https://s3.console.aws.amazon.com/s3/buckets/my-bucket?region=eu-west-1&tab=objects"
    open_printed(signed_in.run("console", "-p", "chained", "--print", "--destination", page))
    open_printed(
        signed_in.run("console", "-p", "dev", "--print", env={"AWS_REGION": "ap-southeast-2"})
    )
    destinations = [s["destination"] for s in signed_in.emulator.console_sign_ins()]
    assert destinations == [
        "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1",
        "https://us-east-2.console.aws.amazon.com/console/home?region=us-east-2",
        page,
        "https://ap-southeast-2.console.aws.amazon.com/console/home?region=ap-southeast-2",
    ]


def test_inside_an_ssoexec_command_its_credentials_are_used(signed_in):
    result = signed_in.run("-p", "dev", "--", SSOEXEC, "console", "-p", "dev", "--print")
    body = open_printed(result)
    assert DEV_ARN in console_line(body, "Role")
    assert signed_in.emulator.calls["GetRoleCredentials"] == 1  # the outer run's, reused


def test_debug_shows_the_steps_and_no_secret(signed_in):
    result = signed_in.run("--debug", "console", "-p", "chained", "--print", "--service", "s3")
    assert result.returncode == 0, result.stderr
    assert "getSigninToken at http://127.0.0.1:" in result.stderr
    assert_no_secret_in(result.stderr, signed_in.emulator)


def test_the_federation_endpoint_is_botocores_signin_one(signed_in):
    """With no override it is the regional sign-in host of the console's region; the run
    then cannot reach it here, and says where it tried, without a secret."""
    env = {"AWS_ENDPOINT_URL_SIGNIN": "", "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = signed_in.run("console", "-p", "dev", "--print", "--region", "cn-north-1", env=env)
    assert result.returncode == 125, result.stderr
    assert "https://cn-north-1.signin.amazonaws.cn/federation" in result.stderr
    assert_no_secret_in(result.stderr, signed_in.emulator)


def test_the_browser_gets_only_a_one_time_loopback_link(signed_in, browser):
    result = signed_in.run("console", "-p", "dev", "--service", "s3")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    [argv] = [json.loads(line) for line in browser["argv"].read_text().splitlines()]
    link = urlsplit(argv[-1])
    assert (link.scheme, link.hostname, link.query) == ("http", "127.0.0.1", "")
    assert len(link.path) > 40  # 256 random bits
    assert_no_secret_in(json.dumps(argv), signed_in.emulator)
    page = json.loads(browser["page"].read_text())
    assert DEV_ARN in console_line(page["body"], "Role")
    assert "/s3/home?region=eu-west-1" in console_line(page["body"], "Destination")
    assert urlsplit(page["landed"]).path == "/federation"
    assert page["again"] in ("404", "refused")  # the link answered exactly once
    assert link.geturl() in result.stderr  # said on the terminal, in case the browser fails
    assert "the console is open in the browser" in result.stderr.splitlines()[-1]


def test_no_secret_in_any_process_argv_while_the_link_waits(signed_in, browser):
    with link_waiting(signed_in, browser, profile="chained") as (process, _):
        secrets = signed_in.emulator.issued_secrets()
        assert any(len(s) > 200 for s in secrets)  # the sign-in token was issued by now
        seen = 0
        for other in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(other.info["cmdline"] or [])
            seen += 1
            for secret in secrets:
                assert secret not in cmdline, f"a secret in the argv of pid {other.pid}"
        assert seen > 2
        browser["go"].touch()
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert CHAINED_ARN in json.loads(browser["page"].read_text())["body"]


@contextmanager
def link_waiting(sandbox, browser, profile="dev"):
    """`ssoexec console -p PROFILE` started, its browser stand-in holding until GO: yields
    the process and the one-time link it gave the browser; killed on the way out if the
    test left it running."""
    sandbox.env["BROWSER_GO"] = str(browser["go"])
    process = sandbox.start("console", "-p", profile)
    try:
        deadline = time.monotonic() + 60
        while not browser["argv"].exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        assert browser["argv"].exists(), "the browser was never started"
        [argv] = [json.loads(line) for line in browser["argv"].read_text().splitlines()]
        yield process, urlsplit(argv[-1])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_waiting_link_shrugs_off_other_clients_and_dumps_no_core(signed_in, browser):
    import socket
    import struct

    with link_waiting(signed_in, browser) as (process, link):
        limits = Path(f"/proc/{process.pid}/limits")
        if limits.exists():  # it holds a sign-in token while it waits
            core = next(line for line in limits.read_text().splitlines() if "core" in line)
            assert core.split()[4] == "0", core
        with socket.create_connection(("127.0.0.1", link.port)) as garbage:
            garbage.sendall(b"\x16\x03\x01\x00\xff garbage \x1b]0;pwned\x07\r\n\r\n")
        with socket.create_connection(("127.0.0.1", link.port)) as reset:
            reset.sendall(b"GET " + link.path.encode())  # half a request, then a reset
            reset.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(f"http://127.0.0.1:{link.port}/not-the-path", timeout=10)
        assert wrong.value.code == 404
        browser["go"].touch()
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert DEV_ARN in json.loads(browser["page"].read_text())["body"]
    assert "pwned" not in err and "Traceback" not in err
    assert [line.split(" ")[1] for line in err.splitlines()] == ["opening", "waiting", "the"]


def test_ctrl_c_while_the_link_waits(signed_in, browser):
    signed_in.env["BROWSER_MODE"] = "ignore"  # once GO comes, it leaves without a look
    with link_waiting(signed_in, browser) as (process, link):
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        browser["go"].touch()  # the browser stand-in holds stderr open until then
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    with pytest.raises(OSError):  # the link is gone with it
        urllib.request.urlopen(link.geturl(), timeout=10)
    assert signed_in.emulator.console_sign_ins() == []


def test_a_browser_that_never_follows_the_link_is_given_up_on(signed_in, browser):
    signed_in.env["BROWSER_MODE"] = "ignore"
    result = signed_in.run("console", "-p", "dev", env={"SSOEXEC_CONSOLE_WAIT": "1"})
    assert result.returncode == 125
    error, hint = result.stderr.splitlines()[-2:]
    assert error == "ssoexec: error: the browser did not open the console link in time"
    assert hint.startswith("hint: ") and "--print" in hint
    assert signed_in.emulator.console_sign_ins() == []


def test_no_browser_here_suggests_print(signed_in):
    result = signed_in.run("console", "-p", "dev")
    assert_one_error(result, "no browser on this machine", "--print")
    assert signed_in.emulator.calls["GetSigninToken"] == 0


def test_print_on_a_terminal_warns_on_stderr(signed_in):
    status, output = run_in_terminal([SSOEXEC, "console", "-p", "dev", "--print"], signed_in.env)
    assert status == 0, output
    assert "warning: this URL signs whoever opens it in" in output
    assert "Action=login" in output


def test_portal_prints_the_identity_center_shortcut(signed_in):
    page = "https://console.aws.amazon.com/s3/buckets/b?region=eu-west-1&tab=objects"
    result = signed_in.run("console", "-p", "dev", "--portal", "--print", "--destination", page)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(f"{START_URL}/#/console?")
    query = parse_qs(urlsplit(url.replace("/#/", "/")).query, strict_parsing=True)
    assert query == {"account_id": ["111111111111"], "role_name": ["Admin"], "destination": [page]}
    assert "%26tab%3Dobjects" in url  # the destination URL-encoded, not split
    assert signed_in.emulator.calls["GetRoleCredentials"] == 0  # no credentials at all
    assert signed_in.emulator.calls["GetSigninToken"] == 0
    legacy = signed_in.run("console", "-p", "legacy", "--portal", "--print")
    assert legacy.stdout.strip() == (
        "https://d-legacy0001.awsapps.com/start/#/console?account_id=222222222222"
        "&role_name=ReadOnly&destination=https%3A%2F%2Fus-west-2.console.aws.amazon.com"
        "%2Fconsole%2Fhome%3Fregion%3Dus-west-2"
    )


@pytest.mark.parametrize(
    ("region", "console"),
    [
        ("cn-northwest-1", "https://console.amazonaws.cn/console/home?region=cn-northwest-1"),
        ("us-gov-east-1", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-east-1"),
        ("ap-south-2", "https://ap-south-2.console.aws.amazon.com/console/home?region=ap-south-2"),
    ],
)
def test_the_console_host_follows_the_regions_partition(signed_in, region, console):
    result = signed_in.run("console", "-p", "dev", "--portal", "--print", "--region", region)
    assert result.returncode == 0, result.stderr
    assert parse_qs(urlsplit(result.stdout.strip().replace("/#/", "/")).query)["destination"] == [
        console
    ]


def test_a_region_no_partition_knows(signed_in):
    result = signed_in.run("console", "-p", "dev", "--print", "--region", "zz-nowhere-9")
    assert_one_error(result, "no AWS partition has a region named 'zz-nowhere-9'", "--region")
    assert signed_in.emulator.calls["GetRoleCredentials"] == 0


def test_portal_in_the_browser_goes_through_the_link_too(signed_in, browser):
    signed_in.env["BROWSER_MODE"] = "peek"
    result = signed_in.run("console", "-p", "dev", "--portal", "--service", "s3")
    assert result.returncode == 0, result.stderr
    [argv] = [json.loads(line) for line in browser["argv"].read_text().splitlines()]
    assert urlsplit(argv[-1]).hostname == "127.0.0.1"
    assert json.loads(browser["page"].read_text()) == {
        "status": 302,
        "location": f"{START_URL}/#/console?account_id=111111111111&role_name=Admin"
        "&destination=https%3A%2F%2Feu-west-1.console.aws.amazon.com%2Fs3%2Fhome"
        "%3Fregion%3Deu-west-1",
    }
    assert signed_in.emulator.calls["GetRoleCredentials"] == 0


def test_portal_needs_an_sso_profile(signed_in):
    result = signed_in.run("console", "-p", "chained", "--portal", "--print")
    assert_one_error(result, "--portal needs an SSO profile", "leave out --portal")


def test_duration_is_sent_for_sso_profiles_only(signed_in):
    open_printed(signed_in.run("console", "-p", "dev", "--print", "--duration", "12h"))
    assert signed_in.emulator.console_sign_ins()[0]["session_duration"] == 43200
    chained = signed_in.run("console", "-p", "chained", "--print", "--duration", "2h")
    assert_one_error(chained, "--duration cannot be used with profile 'chained'", "role chains")
    bad = signed_in.run("console", "-p", "dev", "--print", "--duration", "13h")
    assert bad.returncode == 2 and "outside what AWS allows" in bad.stderr


def test_a_refused_session_length_suggests_leaving_it_out(signed_in):
    signed_in.emulator.fail("GetSigninToken", 400)  # as AWS answers a SessionDuration it refuses
    result = signed_in.run("console", "-p", "dev", "--print", "--duration", "8h")
    assert_one_error(result, "refused the credentials of profile 'dev' (HTTP 400)", "--duration")


def test_static_keys_are_refused(sandbox):
    key, secret = sandbox.emulator.add_static_user("444444444444", "alice")
    sandbox.write_config(
        CONFIG + f"[profile static]\naws_access_key_id = {key}\n"
        f"aws_secret_access_key = {secret}\nregion = eu-west-1\n"
    )
    result = sandbox.run("console", "-p", "static", "--print")
    assert_one_error(result, "long-lived access keys", "use an SSO profile")
    assert sandbox.emulator.calls["GetSigninToken"] == 0


def test_credentials_aws_refuses_are_reported(signed_in):
    """An outer ssoexec's credentials, reused, that AWS no longer takes (here: expired by the
    emulator's clock, as after a clock jump or a revoked session)."""
    signed_in.emulator.credential_lifetime = -60
    cred = signed_in.emulator.sso_role_credentials("111111111111", "Admin")
    inherited = {
        "SSOEXEC_PROFILE": "dev",
        "AWS_ACCESS_KEY_ID": cred.access_key_id,
        "AWS_SECRET_ACCESS_KEY": cred.secret_access_key,
        "AWS_SESSION_TOKEN": cred.session_token,
        "SSOEXEC_EXPIRATION": "2099-01-01T00:00:00Z",
    }
    result = signed_in.run("console", "-p", "dev", "--print", env=inherited)
    assert_one_error(result, "refused the credentials of profile 'dev' (HTTP 400)", "run again")
    assert signed_in.emulator.federation_refusals() == [("getSigninToken", "expired credentials")]
    assert signed_in.emulator.calls["GetRoleCredentials"] == 0  # they were reused, not fetched


def test_an_unreachable_endpoint(signed_in):
    result = signed_in.run(
        "console", "-p", "dev", "--print", env={"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9"}
    )
    assert_one_error(result, "cannot reach the AWS federation endpoint", "AWS_ENDPOINT_URL_SIGNIN")
    assert "http://127.0.0.1:9/federation" in result.stderr
    assert_no_secret_in(result.stderr, signed_in.emulator)


def test_tls_failure_points_at_the_ca_bundle(signed_in):
    https = signed_in.emulator.url.replace("http://", "https://")  # it speaks plain HTTP
    result = signed_in.run(
        "console", "-p", "dev", "--print", env={"AWS_ENDPOINT_URL_SIGNIN": https}
    )
    assert_one_error(result, "TLS with the AWS federation endpoint", "AWS_CA_BUNDLE")
    assert_no_secret_in(result.stderr, signed_in.emulator)


def test_an_endpoint_failing_is_one_line(signed_in):
    signed_in.emulator.fail("GetSigninToken", 500)
    result = signed_in.run("console", "-p", "dev", "--print")
    assert_one_error(result, "answered HTTP 500", "run again in a moment")


def test_service_and_destination_together_is_a_usage_error(signed_in):
    result = signed_in.run(
        "console", "--service", "s3", "--destination", "https://console.aws.amazon.com/"
    )
    assert result.returncode == 2
    assert "give --service or --destination, not both" in result.stderr


def test_a_destination_that_is_not_the_console(signed_in):
    result = signed_in.run(
        "console", "-p", "dev", "--print", "--destination", "https://evil.example/\x1b]0;x\x07"
    )
    assert result.returncode == 2
    assert "\x1b" not in result.stderr and "is not a URL of the AWS console" in result.stderr
    assert signed_in.emulator.calls["GetRoleCredentials"] == 0  # checked before any AWS call


# helpers


def assert_no_secret_in(text: str, emulator) -> None:
    for secret in emulator.issued_secrets():
        assert secret not in text


def test_a_printed_url_works_for_15_minutes(signed_in):
    url = signed_in.run("console", "-p", "legacy", "--print").stdout.strip()
    signed_in.emulator.clock_offset = 901
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 400
    assert signed_in.emulator.federation_refusals() == [("login", "unknown or expired SigninToken")]
    assert not Path(signed_in.home / ".aws" / "credentials").exists()


def test_without_a_profile_the_named_role_signs_in(signed_in):
    direct = ("--sso-session", "corp", "--account", "222222222222", "--role", "ReadOnly")
    body = open_printed(signed_in.run("console", *direct, "--print"))
    assert "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_" in console_line(
        body, "Role"
    )
    [sign_in] = signed_in.emulator.console_sign_ins()
    assert sign_in["issuer"] == START_URL
    assert sign_in["destination"].endswith("?region=us-east-1")  # the session's sso_region
    ambiguous = signed_in.run("console", *direct[:4], "--portal", "--print")
    assert ambiguous.returncode == 2, ambiguous.stderr
    assert "(Admin, ReadOnly): which one?" in ambiguous.stderr
    only_role_in(signed_in, "333333333333", "Developer")
    shortcut = signed_in.run(
        "console", "--sso-session", "corp", "--account", "333333333333", "--portal", "--print"
    )
    assert shortcut.returncode == 0, shortcut.stderr
    assert "account_id=333333333333&role_name=Developer" in shortcut.stdout  # its only role
    assert signed_in.emulator.calls["ListAccountRoles"] == 2
    mixed = signed_in.run("console", "-p", "dev", *direct, "--print")
    assert mixed.returncode == 2, mixed.stderr
