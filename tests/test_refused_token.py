"""One rule for a token the portal refuses (sso_token.with_valid_token), used by both
GetRoleCredentials and configure's listing: one refresh or sign-in, then the call again, and a
second refusal is a sign-in to do. Real token files in a private HOME; the call and the sign-in
are plain functions standing in for the portal and the browser."""

from datetime import timedelta

import pytest

from ssoexec.clients import Aws
from ssoexec.errors import LoginRequired
from ssoexec.profile import SsoSession
from ssoexec.sso_token import TokenRefused, with_valid_token
from ssoexec.timestamps import utcnow
from ssoexec.token_cache import AccessToken, cache_path, write_token

START_URL = "https://d-1234567890.awsapps.com/start"
CORP = SsoSession(START_URL, "us-east-1", "corp", ("sso:account:access",))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def token(access: str) -> AccessToken:
    """A token good for an hour, with no refresh token: only a sign-in renews it."""
    return AccessToken(START_URL, "us-east-1", access, utcnow() + timedelta(hours=1))


class Portal:
    """Answers a call with the token's value, or refuses the tokens it was told to."""

    def __init__(self, refuses=()):
        self.refuses, self.seen = set(refuses), []

    def __call__(self, given: AccessToken) -> str:
        self.seen.append(given.access_token)
        if given.access_token in self.refuses:
            raise TokenRefused
        return f"listed with {given.access_token}"


class SignIn:
    """Signs in as a person would, leaving a new token in the cache."""

    def __init__(self):
        self.count = 0

    def __call__(self, session) -> AccessToken:
        self.count += 1
        new = token(f"signed-in-{self.count}")
        write_token(cache_path(session.cache_key), new)
        return new


def test_an_accepted_token_is_used_once():
    write_token(cache_path("corp"), token("first"))
    portal, sign_in = Portal(), SignIn()
    assert with_valid_token(CORP, Aws(), portal, login=sign_in) == "listed with first"
    assert (portal.seen, sign_in.count) == (["first"], 0)


def test_a_refused_token_gets_one_sign_in_then_the_call_again():
    write_token(cache_path("corp"), token("first"))
    portal, sign_in = Portal(refuses={"first"}), SignIn()
    assert with_valid_token(CORP, Aws(), portal, login=sign_in) == "listed with signed-in-1"
    assert (portal.seen, sign_in.count) == (["first", "signed-in-1"], 1)


@pytest.mark.parametrize(
    ("profile_name", "hint"),
    [("dev", "ssoexec login -p dev"), (None, "ssoexec login --sso-session corp")],
)
def test_a_second_refusal_is_a_sign_in_to_do(profile_name, hint):
    write_token(cache_path("corp"), token("first"))
    portal, sign_in = Portal(refuses={"first", "signed-in-1"}), SignIn()
    with pytest.raises(LoginRequired) as raised:
        with_valid_token(CORP, Aws(), portal, profile_name=profile_name, login=sign_in)
    assert (portal.seen, sign_in.count) == (["first", "signed-in-1"], 1)  # no third try
    assert raised.value.message == (
        "the SSO token for sso-session 'corp' was refused by AWS SSO (signed out or revoked)"
    )
    assert raised.value.hint == f"run `{hint}`, then run again"


def test_refused_with_nobody_to_sign_in_is_not_called_again():
    write_token(cache_path("corp"), token("first"))
    portal = Portal(refuses={"first"})
    with pytest.raises(LoginRequired, match="was refused by AWS SSO") as raised:
        with_valid_token(CORP, Aws(), portal, profile_name="dev")
    assert portal.seen == ["first"]
    assert "ssoexec login -p dev" in raised.value.hint


def test_other_errors_of_the_call_are_not_a_refusal():
    write_token(cache_path("corp"), token("first"))
    sign_in = SignIn()

    def broken(given):
        raise RuntimeError("not a 401")

    with pytest.raises(RuntimeError, match="not a 401"):
        with_valid_token(CORP, Aws(), broken, login=sign_in)
    assert sign_in.count == 0
