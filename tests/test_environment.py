"""The child's environment (SPEC §5), as a pure function of the parent's and the credentials."""

from datetime import datetime, timedelta, timezone

import pytest

from ssoexec import environment as E
from ssoexec.credentials import RoleCredentials
from ssoexec.plan import choose_region

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
CREDS = RoleCredentials("ASIANEW", "new-secret", "new-token", EXPIRES, "111111111111")


@pytest.mark.parametrize(
    ("constant", "name"),
    [
        (E.ACCESS_KEY_ID, "AWS_ACCESS_KEY_ID"),
        (E.SECRET_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY"),
        (E.SESSION_TOKEN, "AWS_SESSION_TOKEN"),
        (E.CREDENTIAL_EXPIRATION, "AWS_CREDENTIAL_EXPIRATION"),
        (E.REGION, "AWS_REGION"),
        (E.DEFAULT_REGION, "AWS_DEFAULT_REGION"),
        (E.SSOEXEC_PROFILE, "SSOEXEC_PROFILE"),
        (E.SSOEXEC_EXPIRATION, "SSOEXEC_EXPIRATION"),
        (E.CONTAINER_FULL_URI, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        (E.CONTAINER_AUTHORIZATION_TOKEN, "AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        (
            E.REMOVED,
            ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_FILE"),
        ),
        (E.REMOVED_PREFIXES, ("AWS_CONTAINER_CREDENTIALS_", "AWS_CONTAINER_AUTHORIZATION_TOKEN")),
    ],
)
def test_variable_names_are_the_documented_ones(constant, name):
    assert constant == name


PARENT = {
    "PATH": "/bin",
    "AWS_PROFILE": "other",
    "AWS_DEFAULT_PROFILE": "other",
    "AWS_SECURITY_TOKEN": "stale",
    "AWS_CREDENTIAL_FILE": "/old/file",
    "AWS_ACCESS_KEY_ID": "AKIAOLD",
    "AWS_SECRET_ACCESS_KEY": "old-secret",
    "AWS_SESSION_TOKEN": "old-token",
    "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/tok",
    "AWS_CONFIG_FILE": "/cfg",
    "AWS_CA_BUNDLE": "/ca.pem",
    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "2",
    "UNRELATED": "x",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # set
        ("AWS_ACCESS_KEY_ID", "ASIANEW"),
        ("AWS_SECRET_ACCESS_KEY", "new-secret"),
        ("AWS_SESSION_TOKEN", "new-token"),
        ("AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z"),
        ("SSOEXEC_EXPIRATION", "2030-01-02T03:04:05Z"),
        ("SSOEXEC_PROFILE", "dev"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        # removed
        ("AWS_PROFILE", None),
        ("AWS_DEFAULT_PROFILE", None),
        ("AWS_SECURITY_TOKEN", None),
        ("AWS_CREDENTIAL_FILE", None),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", None),
        ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", None),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", None),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", None),
        # kept
        ("PATH", "/bin"),
        ("AWS_CONFIG_FILE", "/cfg"),
        ("AWS_CA_BUNDLE", "/ca.pem"),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
        ("AWS_MAX_ATTEMPTS", "2"),
        ("UNRELATED", "x"),
    ],
)
def test_child_env_sets_removes_and_keeps(name, expected):
    env = E.build_child_env(PARENT, profile_name="dev", credentials=CREDS, region="eu-west-1")
    assert env.get(name) == expected


def test_parent_env_is_not_modified():
    before = dict(PARENT)
    E.build_child_env(PARENT, profile_name="dev", credentials=CREDS, region="eu-west-1")
    assert before == PARENT


def test_static_keys_drop_an_inherited_session_token_and_expiry():
    static = RoleCredentials("AKIASTATIC", "static-secret")
    env = E.build_child_env(PARENT, profile_name="st", credentials=static, region=None)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIASTATIC"
    for name in ("AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "SSOEXEC_EXPIRATION"):
        assert name not in env


def test_no_region_anywhere_leaves_both_unset():
    env = E.build_child_env({"AWS_REGION": ""}, profile_name="d", credentials=CREDS, region=None)
    assert "AWS_REGION" not in env and "AWS_DEFAULT_REGION" not in env


@pytest.mark.parametrize(
    ("explicit", "parent", "profile_region", "expected"),
    [
        ("ap-south-1", {"AWS_REGION": "us-east-2"}, "eu-west-1", "ap-south-1"),
        (
            None,
            {"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"},
            "eu-west-1",
            "us-east-2",
        ),
        (None, {"AWS_DEFAULT_REGION": "us-west-1"}, "eu-west-1", "us-west-1"),
        (None, {}, "eu-west-1", "eu-west-1"),
        (None, {"AWS_REGION": ""}, None, None),
    ],
)
def test_region_precedence(explicit, parent, profile_region, expected):
    assert choose_region(explicit, parent, profile_region).name == expected


def test_server_env_has_the_endpoint_and_never_keys():
    env = E.build_server_env(
        PARENT, profile_name="dev", uri="http://127.0.0.1:5/c", authorization="t", region="r"
    )
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:5/c"
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == "t"
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_PROFILE",
        "AWS_SECURITY_TOKEN",
    ):
        assert name not in env


def _child_of(profile, expires):
    creds = RoleCredentials("ASIAOUTER", "outer-secret", "outer-token", expires)
    return E.build_child_env({}, profile_name=profile, credentials=creds, region=None)


def test_nested_run_reuses_valid_credentials_of_the_same_profile():
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    reused = E.inherited_credentials(_child_of("dev", now + timedelta(minutes=30)), "dev", now)
    assert reused is not None
    assert (reused.access_key_id, reused.secret_access_key, reused.session_token) == (
        "ASIAOUTER",
        "outer-secret",
        "outer-token",
    )


@pytest.mark.parametrize(
    ("profile", "minutes_left", "asked"),
    [("dev", 30, "prod"), ("dev", 2, "dev"), ("dev", -5, "dev")],
)
def test_nested_run_does_not_reuse_other_profiles_or_nearly_expired(profile, minutes_left, asked):
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    env = _child_of(profile, now + timedelta(minutes=minutes_left))
    assert E.inherited_credentials(env, asked, now) is None


def test_no_reuse_outside_ssoexec_or_with_a_broken_marker():
    assert E.inherited_credentials({"AWS_ACCESS_KEY_ID": "x"}, "dev") is None
    env = _child_of("dev", datetime(2099, 1, 1, tzinfo=timezone.utc))
    env["SSOEXEC_EXPIRATION"] = "soon"
    assert E.inherited_credentials(env, "dev") is None
