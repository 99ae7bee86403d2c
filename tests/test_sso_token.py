"""The AWS CLI token cache: file names, format, atomic writes and lenient reads."""

import json
import os
import stat
from datetime import datetime, timezone

import pytest

from ssoexec.errors import ConfigError
from ssoexec.token_cache import AccessToken, cache_path, read_token, write_token

CLI_FILE = {
    "startUrl": "https://d-1234567890.awsapps.com/start",
    "region": "us-east-1",
    "accessToken": "access",
    "expiresAt": "2026-11-25T19:02:36Z",
    "clientId": "cid",
    "clientSecret": "csecret",
    "registrationExpiresAt": "2027-02-13T11:02:33Z",
    "refreshToken": "refresh",
}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("my-sso", "0ad374308c5a4e22f723adf10145eafad7c4031c.json"),
        (
            "https://my-sso-portal.awsapps.com/start",
            "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json",
        ),
    ],
)
def test_file_names_match_the_aws_cli(home, key, name):
    assert cache_path(key) == home / ".aws" / "sso" / "cache" / name


def test_round_trip_keeps_the_aws_cli_format_key_for_key():
    token = AccessToken.from_cache(CLI_FILE)
    assert json.dumps(token.to_cache()) == json.dumps(CLI_FILE)


def test_token_without_refresh_fields_round_trips():
    legacy = {k: CLI_FILE[k] for k in ("startUrl", "region", "accessToken", "expiresAt")}
    token = AccessToken.from_cache(legacy)
    assert token.to_cache() == legacy
    assert not token.can_refresh(datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_other_sdks_timestamps_are_read():
    js = {**CLI_FILE, "expiresAt": "2026-11-25T19:02:36.000Z"}
    assert AccessToken.from_cache(js).expires_at == datetime(
        2026, 11, 25, 19, 2, 36, tzinfo=timezone.utc
    )


def test_secrets_stay_out_of_repr():
    text = repr(AccessToken.from_cache(CLI_FILE))
    for secret in ("access", "csecret", "refresh"):
        assert f"'{secret}'" not in text


def test_write_is_atomic_and_private(home):
    path = cache_path("corp")
    write_token(path, AccessToken.from_cache(CLI_FILE))
    assert json.loads(path.read_text()) == CLI_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_write_replaces_an_existing_file_without_widening_it(home):
    path = cache_path("corp")
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.chmod(0o644)
    write_token(path, AccessToken.from_cache(CLI_FILE))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_file_is_no_token():
    assert read_token(cache_path("corp")) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"startUrl": "x", "accessTo', "not valid JSON"),  # truncated
        ('{"accessToken": "a"}', "no expiresAt"),
        ('{"accessToken": "a", "expiresAt": "soon"}', "not an RFC 3339 timestamp"),
        ("[]", "not a JSON object"),
    ],
)
def test_unusable_file_is_an_error_with_a_hint(content, reason):
    path = cache_path("corp")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_token(path, before_retry=lambda: None)
    assert reason in caught.value.message
    assert str(path) in caught.value.hint


def test_unreadable_file_is_an_error_with_a_hint():
    path = cache_path("corp")
    path.mkdir(parents=True)  # a directory where the file should be: unreadable even as root
    with pytest.raises(ConfigError) as caught:
        read_token(path)
    assert "cannot read the SSO token cache" in caught.value.message
    assert "it is a directory, not a token file" in caught.value.message
    assert f"rm -r {path}" in caught.value.hint


def test_a_half_written_file_is_read_again():
    """The AWS CLI rewrites the file in place: the first read may see half of it."""
    path = cache_path("corp")
    path.parent.mkdir(parents=True)
    full = json.dumps(CLI_FILE)
    path.write_text(full[:40])
    token = read_token(path, before_retry=lambda: path.write_text(full))
    assert token is not None and token.refresh_token == "refresh"
