"""The pieces of signing in, in process: AWS CLI file names and URL formats (with the
reference's test vectors), the loopback listener against browser habits, and the browser
launch observed with pytest-subprocess instead of running one."""

import hashlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from urllib.parse import parse_qs, urlsplit

import pytest

from ssoexec import clients, login
from ssoexec.loopback import Listener
from ssoexec.profile import SsoSession
from tests.conftest import START_URL

PORTAL = "https://my-sso-portal.awsapps.com/start"


@pytest.mark.parametrize(
    ("session", "name"),
    [
        (
            SsoSession(PORTAL, "us-east-1", "my-sso", ("sso:account:access",)),
            "c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json",
        ),
        (
            SsoSession(PORTAL, "us-east-1", "my-sso", None),
            "5d2ad48f7ce068c072924f44a42fb81ca0fd6b99.json",
        ),
        (SsoSession(PORTAL, "us-east-1"), "0e093f10f65cee6c5c1898a8e240f5726875bf08.json"),
    ],
)
def test_registration_file_names_match_the_aws_cli(session, name, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert login.registration_path(session) == tmp_path / ".aws/sso/cache" / name


def test_pkce_challenge_is_rfc_7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert login.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_pair_is_random_and_consistent():
    verifier, challenge = login.pkce_pair()
    assert len(verifier) == 64 and set(verifier) <= set(login._VERIFIER_ALPHABET)
    assert challenge == login.pkce_challenge(verifier)
    assert login.pkce_pair()[0] != verifier


def test_authorize_url_is_the_aws_cli_one():
    url = login.authorize_url(
        "https://oidc.us-east-1.amazonaws.com",
        client_id="cid-123",
        redirect_uri="http://127.0.0.1:54321/oauth/callback",
        state="6f1c9c1e-2b7e-4c55-9d0e-3f0d6a1b2c3d",
        challenge="1T7aemN8mcx_tWbZbp-hCb8VxHhBCj9etNTE4mzQgfY",
        scopes=["sso:account:access"],
    )
    assert url == (
        "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=cid-123"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A54321%2Foauth%2Fcallback"
        "&state=6f1c9c1e-2b7e-4c55-9d0e-3f0d6a1b2c3d&code_challenge_method=S256"
        "&scopes=sso%3Aaccount%3Aaccess&code_challenge=1T7aemN8mcx_tWbZbp-hCb8VxHhBCj9etNTE4mzQgfY"
    )


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as page:
            return page.status, page.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_listener_binds_loopback_only_and_before_any_browser():
    with Listener("s1") as listener:
        port = urlsplit(listener.redirect_uri).port
        assert listener.redirect_uri == f"http://127.0.0.1:{port}/oauth/callback"
        assert listener.address == ("127.0.0.1", port)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # accepting already


def test_listener_copes_with_a_real_browser():
    with Listener("right-state", read_timeout=2) as listener:
        base = listener.redirect_uri
        idle = socket.create_connection(("127.0.0.1", urlsplit(base).port))  # speculative
        assert get(base.replace("/oauth/callback", "/favicon.ico"))[0] == 404
        status, page = get(f"{base}?code=evil&state=wrong-state")
        assert status == 400 and "Not this sign-in" in page
        assert listener.wait(timeout=0.1) is None  # that was no callback of ours

        answers = []

        def browser_request():  # answered only after the token exchange
            answers.append(get(f"{base}?code=the-code&state=right-state"))

        first = threading.Thread(target=browser_request)
        first.start()
        callback = listener.wait(timeout=10)
        assert (callback.code, callback.error) == ("the-code", None)
        wait_until(lambda: listener.callbacks_waiting == 1)
        assert answers == []  # still waiting for the outcome
        retry = threading.Thread(target=browser_request)  # the browser retries meanwhile
        retry.start()
        listener.finish(True)
        first.join(10)
        retry.join(10)
        assert [status for status, _ in answers] == [200, 200]
        assert all("the-code" not in page for _, page in answers)
        assert listener.wait(timeout=0.1) is None  # the retry did not count twice
        idle.close()


def test_listener_reports_failure_and_errors():
    with Listener("st") as listener:
        answers = []
        thread = threading.Thread(
            target=lambda: answers.append(
                get(f"{listener.redirect_uri}?error=access_denied&state=st")
            )
        )
        thread.start()
        callback = listener.wait(timeout=10)
        assert (callback.code, callback.error) == (None, "access_denied")
        listener.finish(False)
        thread.join(10)
        assert answers[0][0] == 400 and "Sign-in failed" in answers[0][1]


def test_listener_does_not_log_the_code(capsys):
    with Listener("st") as listener:
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(listener.redirect_uri).port)
        connection.request("GET", "/oauth/callback?code=SECRET-CODE&state=other")
        connection.getresponse().read()
    assert "SECRET-CODE" not in capsys.readouterr().err


def test_the_browser_is_launched_through_BROWSER_with_the_authorize_url(
    fp, emulator, tmp_path, monkeypatch
):
    """Observed with pytest-subprocess: the BROWSER command gets exactly one argument, the
    authorize URL; the fake browser then completes the redirect as a real one would."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("BROWSER", "/opt/fake/browser")
    for name, value in emulator.endpoint_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads BROWSER once
    monkeypatch.setattr(webbrowser, "_browsers", {})
    opened = []

    def act_like_a_browser(process):
        url = process.args[1]
        opened.append(url)
        get(url)  # the emulator's 302 lands on ssoexec's listener

    fp.register(["/opt/fake/browser", fp.any()], callback=act_like_a_browser)
    session = SsoSession(START_URL, "us-east-1", "corp", ("sso:account:access",))
    token = login.sign_in(session, clients.Aws(), profile_name="dev")
    assert len(opened) == 1
    query = parse_qs(urlsplit(opened[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert token.refresh_token
    cached = json.loads(
        (tmp_path / ".aws/sso/cache")
        .joinpath(hashlib.sha1(b"corp").hexdigest() + ".json")
        .read_text()
    )
    assert cached["accessToken"] == token.access_token
