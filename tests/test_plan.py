"""What a run will do (plan.py): one pure decision that run, export and doctor all read."""

from datetime import timedelta

import pytest

from ssoexec import plan as P
from ssoexec.credentials import RoleCredentials
from ssoexec.timestamps import format_timestamp, utcnow

FRESH = RoleCredentials(
    "ASIAFETCHED", "fetched-secret", "fetched-token", utcnow() + timedelta(hours=1)
)


def inside(profile="dev", minutes=50, **extra):
    """The environment of an ssoexec child for `profile` whose keys have `minutes` left."""
    return {
        "PATH": "/bin",
        "SSOEXEC_PROFILE": profile,
        "AWS_ACCESS_KEY_ID": "ASIAOUTER",
        "AWS_SECRET_ACCESS_KEY": "outer-secret",
        "AWS_SESSION_TOKEN": "outer-token",
        "SSOEXEC_EXPIRATION": format_timestamp(utcnow() + timedelta(minutes=minutes)),
        **extra,
    }


ENDPOINT = {
    "SSOEXEC_PROFILE": "dev",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:4321/credentials",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "endpoint-token",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.mark.parametrize(
    ("parent", "server", "share", "action"),
    [
        ({}, False, True, P.FETCH),
        ({}, True, True, P.SERVE),
        (inside(), False, True, P.REUSE_CREDENTIALS),
        (inside(), True, True, P.SERVE),  # --server fetches its own, to keep them fresh
        (inside(minutes=2), False, True, P.FETCH),  # too close to expiry to reuse
        (inside(profile="prod"), False, True, P.FETCH),  # another profile replaces them
        (ENDPOINT, False, True, P.REUSE_ENDPOINT),
        (ENDPOINT, True, True, P.REUSE_ENDPOINT),  # a nested --server shares the outer one
        (ENDPOINT, False, False, P.FETCH),  # export needs keys: the endpoint is no use to it
    ],
)
def test_the_action(parent, server, share, action):
    plan = P.plan_run(parent, profile_name="dev", region=None, server=server, share_endpoint=share)
    assert plan.action == action
    assert plan.reuses == (action in (P.REUSE_CREDENTIALS, P.REUSE_ENDPOINT))


@pytest.mark.parametrize(
    ("parent", "action"),
    [({}, P.FETCH), (inside(), P.REUSE_CREDENTIALS), (ENDPOINT, P.FETCH)],
)
def test_a_caller_that_needs_the_keys_never_gets_an_endpoint(parent, action):
    assert P.plan_for_keys(parent, profile_name="dev", region=None).action == action


@pytest.mark.parametrize(
    ("explicit", "parent", "profile", "expected"),
    [
        (
            "ap-south-1",
            {"AWS_REGION": "x-1", "AWS_DEFAULT_REGION": "y-1"},
            "z-1",
            ("ap-south-1", "--region"),
        ),
        (None, {"AWS_REGION": "x-1", "AWS_DEFAULT_REGION": "y-1"}, "z-1", ("x-1", "AWS_REGION")),
        (None, {"AWS_DEFAULT_REGION": "y-1"}, "z-1", ("y-1", "AWS_DEFAULT_REGION")),
        (None, {"AWS_REGION": ""}, "z-1", ("z-1", P.PROFILE_REGION)),
        (None, {}, None, (None, None)),
    ],
)
def test_region_and_where_it_comes_from(explicit, parent, profile, expected):
    region = P.choose_region(explicit, parent, profile)
    assert (region.name, region.source) == expected


def test_a_run_that_reuses_takes_no_region_from_the_profile():
    reuse = P.plan_run(inside(), profile_name="dev", region=None, server=False)
    fetch = P.plan_run({}, profile_name="dev", region=None, server=False)
    assert reuse.region(inside(), "eu-central-1") == P.Region(None, None)
    assert fetch.region({}, "eu-central-1") == P.Region("eu-central-1", P.PROFILE_REGION)


def test_child_env_of_each_action():
    reuse = P.plan_run(inside(), profile_name="dev", region=None, server=False)
    env = P.child_env(reuse, inside(), region=None)
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAOUTER"

    fetch = P.plan_run({"AWS_PROFILE": "dev"}, profile_name="dev", region=None, server=False)
    env = P.child_env(fetch, {"AWS_PROFILE": "dev"}, region="eu-west-1", credentials=FRESH)
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAFETCHED" and "AWS_PROFILE" not in env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"

    serve = P.plan_run({}, profile_name="dev", region=None, server=True)
    env = P.child_env(serve, {}, region=None, endpoint=("http://127.0.0.1:1/credentials", "t"))
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == "t" and "AWS_ACCESS_KEY_ID" not in env

    shared = P.plan_run(ENDPOINT, profile_name="dev", region=None, server=False)
    env = P.child_env(shared, ENDPOINT, region="eu-west-1")
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == "endpoint-token"

    with pytest.raises(ValueError, match="needs credentials"):
        P.child_env(fetch, {}, region=None)


def test_difference_names_what_is_set_and_removed():
    parent = {"A": "1", "B": "2", "C": "3"}
    child = {"A": "1", "B": "changed", "D": "new"}
    assert P.difference(parent, child) == (["B", "D"], ["C"])
