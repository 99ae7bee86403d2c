"""`ssoexec list`: every profile of the config and credentials files, from local files only,
through the installed script; and the table layout with literal rows."""

from __future__ import annotations

import json
import re

from ssoexec.listing import Row, table
from tests.conftest import CONFIG, LEGACY_START_URL

EVERY_KIND = (
    CONFIG
    + """
[sso-session other]
sso_start_url = https://d-other00001.awsapps.com/start
sso_region = eu-west-1

[sso-session broken]
sso_start_url = https://d-broken0001.awsapps.com/start
sso_region = eu-west-1

[profile other]
sso_session = other
sso_account_id = 333333333333
sso_role_name = Developer

[profile garbled]
sso_session = broken
sso_account_id = 333333333333
sso_role_name = ReadOnly

[profile static]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = not-a-real-secret
region = us-east-2

[profile self-keys]
role_arn = arn:aws:iam::555555555555:role/path/SelfRole
source_profile = self-keys
aws_access_key_id = AKIAEXAMPLE2
aws_secret_access_key = not-a-real-secret-either

[profile proc]
credential_process = /bin/false

[profile ec2]
role_arn = arn:aws:iam::444444444444:role/FromInstance
credential_source = Ec2InstanceMetadata

[profile half]
sso_session = corp
sso_account_id = 111111111111

[profile lost]
sso_session = nowhere
sso_account_id = 111111111111
sso_role_name = Admin

[profile loop-a]
role_arn = arn:aws:iam::111111111111:role/A
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::111111111111:role/B
source_profile = loop-a
"""
)
CREDENTIALS = "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = ci-secret\n"
KEYS = [
    "name",
    "kind",
    "account",
    "role",
    "sso_session",
    "region",
    "source_profile",
    "token",
    "token_expires",
    "error",
]
VALID = re.compile(r"^valid for (\d+) min$")


def listed(sandbox) -> dict[str, dict]:
    result = sandbox.run("list", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    assert all(list(row) == KEYS for row in rows)
    return {row.pop("name"): row for row in rows}


def test_every_kind_of_profile_and_token(sandbox):
    sandbox.write_config(EVERY_KIND)
    (sandbox.aws / "credentials").write_text(CREDENTIALS)
    sandbox.login("corp")  # valid
    sandbox.login(LEGACY_START_URL, refreshable=False, expires_in=-60)  # expired
    sandbox.token_path("broken").write_text('{"startUrl": "x", "accessTo')  # truncated
    rows = listed(sandbox)

    assert set(rows) == {
        *("dev", "legacy", "chained", "chained2", "other", "garbled", "static", "self-keys"),
        *("proc", "ec2", "half", "lost", "loop-a", "loop-b", "ci"),
    }
    dev = rows["dev"]
    minutes = int(VALID.match(dev.pop("token")).group(1))
    assert 470 <= minutes <= 480  # the emulator's tokens live 8 hours
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", dev.pop("token_expires"))
    assert dev == {
        "kind": "sso-session",
        "account": "111111111111",
        "role": "Admin",
        "sso_session": "corp",
        "region": "eu-west-1",
        "source_profile": None,
        "error": None,
    }
    assert rows["legacy"]["kind"] == "sso"
    assert rows["legacy"]["sso_session"] == LEGACY_START_URL
    assert rows["legacy"]["token"] == "expired"
    assert (rows["legacy"]["account"], rows["legacy"]["role"]) == ("222222222222", "ReadOnly")
    assert rows["other"]["token"] == "missing"
    assert rows["garbled"]["token"].startswith("unreadable: the SSO token cache ")

    chained = rows["chained"]
    assert chained["kind"] == "role chain"
    assert (chained["account"], chained["role"]) == ("333333333333", "Deployer")
    assert (chained["source_profile"], chained["sso_session"]) == ("dev", "corp")
    assert VALID.match(chained["token"])  # its root's, dev's
    assert rows["chained2"]["source_profile"] == "chained"
    assert rows["chained2"]["token"] == chained["token"]
    self_keys = rows["self-keys"]
    assert (self_keys["account"], self_keys["role"]) == ("555555555555", "SelfRole")
    assert (self_keys["source_profile"], self_keys["token"]) == ("self-keys", "-")

    assert {name: rows[name]["kind"] for name in ("static", "proc", "ec2", "ci")} == {
        "static": "static",
        "proc": "process",
        "ec2": "role (credential_source)",
        "ci": "static",
    }
    assert rows["static"]["region"] == "us-east-2"
    assert rows["static"]["token"] == rows["proc"]["token"] == "-"
    assert (rows["ec2"]["account"], rows["ec2"]["role"]) == ("444444444444", "FromInstance")

    for name, words in {
        "half": "missing sso_role_name",
        "lost": "sso-session 'nowhere', which does not exist",
        "loop-a": "source_profile loop",
        "loop-b": "source_profile loop",
    }.items():
        assert rows[name]["kind"] == "invalid"
        assert words in rows[name]["error"]
    assert all(row["error"] is None for row in rows.values() if row["kind"] != "invalid")

    assert sum(sandbox.emulator.calls.values()) == 0  # local files only: no refresh, no call
    assert sandbox.token_path("broken").read_text() == '{"startUrl": "x", "accessTo'


def test_table_for_people(sandbox):
    sandbox.write_config(EVERY_KIND)
    sandbox.login("corp")
    result = sandbox.run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        *("NAME", "KIND", "ACCOUNT", "ROLE", "SSO", "SESSION"),
        *("REGION", "SOURCE", "TOKEN"),
    ]
    names = [line.split()[0] for line in lines[1:]]
    assert names == sorted(names)
    assert set(names) >= {"dev", "legacy", "chained", "static", "proc", "ec2", "half", "loop-a"}
    kind_at = lines[0].index("KIND")
    assert all(line[kind_at - 2 : kind_at] == "  " for line in lines)  # aligned
    dev = next(line for line in lines if line.startswith("dev "))
    assert VALID.match(dev[lines[0].index("TOKEN") :])
    half = next(line for line in lines if line.startswith("half "))
    assert "error: profile 'half' is missing sso_role_name" in half
    assert sum(sandbox.emulator.calls.values()) == 0


def test_malformed_config_is_an_error(sandbox):
    sandbox.write_config(CONFIG + "[profile dev]\nregion = us-east-1\n")  # a duplicate section
    for args in (["list"], ["list", "--json"]):
        result = sandbox.run(*args)
        assert result.returncode == 125
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and "cannot parse the AWS config" in lines[0]


def test_no_profiles_at_all(sandbox):
    sandbox.write_config("")
    result = sandbox.run("list", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    assert "no profiles" in result.stderr


def test_table_layout():
    rows = [
        Row("a", "sso-session", "111111111111", "Admin", "corp", "eu-west-1", token="missing"),
        Row("longer-name", "invalid", error="profile 'longer-name' is broken"),
    ]
    assert table(rows) == (
        "NAME         KIND         ACCOUNT       ROLE   SSO SESSION  REGION     SOURCE  TOKEN\n"
        "a            sso-session  111111111111  Admin  corp         eu-west-1  -       missing\n"
        "longer-name  invalid      -             -      -            -          -       "
        "error: profile 'longer-name' is broken\n"
    )
