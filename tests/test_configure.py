"""`ssoexec configure` (SPEC §4a): the installed script against the emulator writes an
[sso-session] and a profile per account and role, appends without touching what the user wrote,
and every profile it writes works, with ssoexec and with boto3 alone. The text helpers are
checked on literal data against configparser, which botocore reads the file with."""

import configparser
import json
import os
import re
import resource
import stat
import subprocess
from dataclasses import replace

import pytest

from ssoexec.config_file import (
    Expected,
    check_reads_back,
    new_text,
    profile_of,
    scan,
    set_keys,
    split_lines,
)
from ssoexec.configure_plan import Assignment, Entry, Plan, new_sections
from ssoexec.errors import SsoexecError
from ssoexec.profile import SsoSession
from tests.conftest import (
    CONFIG,
    PROBE,
    PYTHON,
    SSOEXEC,
    START_URL,
    Sandbox,
    assert_one_error,
    run_in_terminal,
)
from tests.emulator import Account, Emulator

SESSION = "d-1234567890"  # made from START_URL's host
FLAGS = ("--start-url", START_URL, "--sso-region", "us-east-1")
DEFAULT_NAMES = {
    "dev-account-admin": ("111111111111", "Admin"),
    "dev-account-readonly": ("111111111111", "ReadOnly"),
    "prod-account-admin": ("222222222222", "Admin"),
    "prod-account-readonly": ("222222222222", "ReadOnly"),
    "sandbox-developer": ("333333333333", "Developer"),
    "sandbox-readonly": ("333333333333", "ReadOnly"),
}
NO_STS = {"PROBE_NO_AWS": "1"}  # the probe child reports its environment, and asks STS nothing
ADDED = re.compile(r"^# Added by ssoexec configure on \d{4}-\d\d-\d\d$", re.MULTILINE)


def profile_text(name, account, role, region="us-east-1", session=SESSION):
    return (
        f"[profile {name}]\nsso_session = {session}\nsso_account_id = {account}\n"
        f"sso_role_name = {role}\nregion = {region}\nssoexec_managed = true\n"
    )


NEW_SESSION = f"""\
# Added by ssoexec configure on DATE
[sso-session {SESSION}]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def undated(text):
    return ADDED.sub("# Added by ssoexec configure on DATE", text)


def configure(sandbox, *args, env=None, **kwargs):
    return sandbox.run("configure", *args, env=env, **kwargs)


def cells(line):
    """The columns of a line of the plan."""
    return re.split(r"\s{2,}", line)


def backups(sandbox):
    return sorted(p.name for p in sandbox.config.parent.glob("config.ssoexec-backup-*"))


def boto3_identities(sandbox, names):
    """Each profile's STS identity through boto3 alone (no ssoexec in the process)."""
    code = (
        "import boto3, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    session = boto3.Session(profile_name=name)\n"
        "    assert session.get_credentials().get_frozen_credentials().access_key\n"
        "    out[name] = session.client('sts').get_caller_identity()['Arn']\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [PYTHON, "-c", code, *names], env=sandbox.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_works(sandbox, names: dict):
    """Every profile runs a child as its account and role, with ssoexec and with boto3. The
    child ssoexec starts does not load boto3 to ask STS who it is: the emulator that issued its
    keys says whose they are (boto3 alone, below, asks STS for every profile)."""
    for name, (account, role) in names.items():
        report = sandbox.probe("-p", name, env=NO_STS)
        key = report["env"]["AWS_ACCESS_KEY_ID"]
        issued = [c for c in sandbox.emulator.credentials_issued() if c["access_key_id"] == key]
        assert len(issued) == 1, name
        assert issued[0]["account_id"] == account, name
        assert f":assumed-role/AWSReservedSSO_{role}_" in issued[0]["arn"], name
    for name, arn in boto3_identities(sandbox, list(names)).items():
        account, role = names[name]
        assert arn.startswith(f"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}_")
    sandbox.assert_no_credentials_on_disk()


# End to end


def test_a_profile_per_account_and_role_from_every_page(sandbox):
    sandbox.config.unlink()
    sandbox.login(SESSION)
    sandbox.emulator.page_size = 1
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    calls = sandbox.emulator.calls
    assert calls["ListAccounts"] == 3  # one account a page
    assert calls["ListAccountRoles"] == 6  # one role a page, two per account
    expected = NEW_SESSION + "".join(
        "\n" + profile_text(name, *pair) for name, pair in DEFAULT_NAMES.items()
    )
    assert undated(sandbox.config.read_text()) == expected
    assert ADDED.search(sandbox.config.read_text())
    assert stat.S_IMODE(sandbox.config.stat().st_mode) == 0o600
    assert backups(sandbox) == []  # there was nothing to keep
    plan = result.stdout.splitlines()
    assert cells(plan[0]) == ["add", f"[sso-session {SESSION}]", START_URL, "us-east-1"]
    assert [cells(line)[:4] for line in plan[1:]] == [
        ["add", f"[profile {name}]", account, role]
        for name, (account, role) in DEFAULT_NAMES.items()
    ]
    assert f"added [sso-session {SESSION}] and 6 profiles in {sandbox.config}" in result.stderr
    assert_works(sandbox, DEFAULT_NAMES)


def test_a_new_config_folder_and_file_are_private(sandbox):
    target = sandbox.home / "new" / "aws" / "config"
    sandbox.login(SESSION)
    result = configure(sandbox, *FLAGS, env={"AWS_CONFIG_FILE": str(target)})
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sandbox.config.read_text() == CONFIG  # the other file is not touched


def test_a_custom_template_and_region(sandbox):
    sandbox.config.unlink()
    sandbox.login("corp")
    template = "{sso_session}/{account_name} {role_name}@{account_id}"
    options = ("--sso-session", "corp", "--profile-template", template, "--region", "eu-west-2")
    result = configure(sandbox, *FLAGS, *options)
    assert result.returncode == 0, result.stderr
    names = {
        f"corp-{base}-{account}": (account, role) for base, (account, role) in DEFAULT_NAMES.items()
    }
    text = sandbox.config.read_text()
    assert "[sso-session corp]\n" in text
    for name, (account, role) in names.items():
        assert profile_text(name, account, role, "eu-west-2", "corp") in text
    report = sandbox.probe("-p", "corp-sandbox-developer-333333333333", env=NO_STS)
    assert report["env"]["AWS_REGION"] == "eu-west-2"
    assert_works(sandbox, names)


TEAMS = [
    Account("111111111111", "Team A", "a1@example.com", ("Admin",)),
    Account("222222222222", "team  a", "a2@example.com", ("Admin", "ReadOnly")),
    Account("333333333333", "TEAM/A!", "a3@example.com", ("Admin",)),
]


@pytest.mark.parametrize("accounts", [TEAMS, TEAMS[::-1]], ids=["listed", "reversed"])
def test_names_that_normalise_alike_are_made_unique_the_same_way(tmp_path, accounts):
    with Emulator(accounts=accounts) as emulator:
        sandbox = Sandbox(tmp_path, emulator)
        sandbox.write_config("[profile team-a-readonly]\nregion = eu-west-1\n")  # taken
        sandbox.login(SESSION)
        result = configure(sandbox, *FLAGS)
        assert result.returncode == 0, result.stderr
        names = {  # in the order of the account names: "team  a", "team a", "team/a!"
            "team-a-admin-222222222222": ("222222222222", "Admin"),
            "team-a-readonly-222222222222": ("222222222222", "ReadOnly"),
            "team-a-admin-111111111111": ("111111111111", "Admin"),
            "team-a-admin-333333333333": ("333333333333", "Admin"),
        }
        text = sandbox.config.read_text()
        assert text.startswith("[profile team-a-readonly]\nregion = eu-west-1\n\n# Added")
        assert [line for line in text.splitlines() if line.startswith("[profile")] == [
            "[profile team-a-readonly]",
            *(f"[profile {name}]" for name in names),
        ]
        assert "team-a-readonly is taken by another profile" in result.stdout
        assert_works(sandbox, names)


USER_CONFIG = (
    "; my AWS config, by hand\n"
    + CONFIG.replace("[profile legacy]", "# the old way, keep it\n[profile legacy]")
    + """
[profile prod-account-admin]
# not the SSO one: a role of my own
role_arn = arn:aws:iam::222222222222:role/Auditor
source_profile = dev

[profile tools]
region=eu-north-1
s3 =
  max_concurrent_requests = 20
  addressing_style = path
; no newline at the end"""
)


def test_the_users_file_survives_byte_for_byte(sandbox):
    sandbox.write_config(USER_CONFIG)
    sandbox.config.chmod(0o640)
    original = sandbox.config.read_bytes()
    sandbox.login("corp")
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    new = sandbox.config.read_bytes()
    assert new.startswith(original + b"\n\n# Added by ssoexec configure on ")
    appended = undated(new[len(original) + 2 :].decode())
    names = {
        "dev-account-readonly": ("111111111111", "ReadOnly"),
        "prod-account-admin-222222222222": ("222222222222", "Admin"),
        "prod-account-readonly": ("222222222222", "ReadOnly"),
        "sandbox-developer": ("333333333333", "Developer"),
        "sandbox-readonly": ("333333333333", "ReadOnly"),
    }
    assert appended == "# Added by ssoexec configure on DATE\n" + "\n".join(
        profile_text(name, *pair, session="corp") for name, pair in names.items()
    )
    assert stat.S_IMODE(sandbox.config.stat().st_mode) == 0o640
    [backup] = backups(sandbox)
    assert (sandbox.aws / backup).read_bytes() == original
    assert str(sandbox.aws / backup) in result.stderr
    plan = result.stdout
    assert re.search(r"^keep +\[sso-session corp\] ", plan, re.MULTILINE)
    assert re.search(r"^keep +\[profile dev\] +111111111111 +Admin .*already set up", plan, re.M)
    assert "prod-account-admin is taken by another profile" in plan
    assert_works(sandbox, {"dev": ("111111111111", "Admin"), **names})


def test_a_symlinked_config_stays_a_symlink(sandbox):
    """~/.aws/config kept in a dotfiles repository: the file it points to is the one changed."""
    real = sandbox.home / "dotfiles" / "aws-config"
    real.parent.mkdir()
    real.write_text(CONFIG)
    sandbox.config.unlink()
    sandbox.config.symlink_to(real)
    sandbox.login("corp")
    result = configure(sandbox, *FLAGS, env={"AWS_PROFILE": "sandbox-readonly"})  # not yet
    assert result.returncode == 0, result.stderr
    assert sandbox.config.is_symlink() and real.read_text().startswith(CONFIG + "\n# Added")
    assert [p.name for p in real.parent.glob("aws-config.ssoexec-backup-*")] != []
    assert sorted(p.name for p in sandbox.aws.iterdir()) == ["config", "sso"]
    assert sandbox.probe("-p", "sandbox-readonly")["account"] == "333333333333"


def test_a_second_run_adds_nothing(sandbox):
    sandbox.login("corp")
    assert configure(sandbox, *FLAGS).returncode == 0
    before, saved = sandbox.files(), backups(sandbox)
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    assert sandbox.files() == before and backups(sandbox) == saved
    assert {cells(line)[0] for line in result.stdout.splitlines()} == {"keep"}
    assert f"nothing to change in {sandbox.config}" in result.stderr


def test_dry_run_prints_the_plan_and_changes_nothing(sandbox):
    sandbox.login("corp")
    before = sandbox.files()
    result = configure(sandbox, *FLAGS, "--dry-run", "--update")
    assert result.returncode == 0, result.stderr
    assert sandbox.files() == before
    plan = result.stdout.splitlines()
    assert len(plan) == 7
    assert re.fullmatch(
        r"update +\[profile dev\] +111111111111 +Admin +Dev Account; region: eu-west-1 -> "
        r"us-east-1",
        plan[1],
    )
    assert sum(line.startswith("add ") for line in plan) == 5
    assert "dry run" in result.stderr


MINE = (  # hand-written, on the same sso-session, for an account that goes away
    f"\n# my own, on the same session\n[profile mine]\nsso_session = {SESSION}\n"
    "sso_account_id = 333333333333\nsso_role_name = Developer\n"
)


def test_prune_removes_exactly_the_vanished_profiles_configure_wrote(sandbox):
    sandbox.config.unlink()
    sandbox.login(SESSION)
    assert configure(sandbox, *FLAGS).returncode == 0
    # the user edits one of ours (its marker stays) and adds one of their own
    written = sandbox.config.read_text().replace(
        "sso_role_name = Developer\nregion = us-east-1\n",
        "sso_role_name = Developer\nregion = eu-west-1\n",
    )
    sandbox.write_config(written + MINE)
    original = sandbox.config.read_bytes()
    dev, prod, _ = sandbox.emulator.accounts
    sandbox.emulator.accounts = [replace(dev, roles=("Admin",)), prod]  # a role, an account gone

    before = sandbox.files()
    dry = configure(sandbox, *FLAGS, "--prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sandbox.files() == before and backups(sandbox) == []
    removed = {"dev-account-readonly", "sandbox-developer", "sandbox-readonly"}
    plan = [cells(line) for line in dry.stdout.splitlines()]
    assert {row[1] for row in plan if row[0] == "remove"} == {f"[profile {n}]" for n in removed}
    assert "dry run" in dry.stderr

    result = configure(sandbox, *FLAGS, "--prune")
    assert result.returncode == 0, result.stderr
    kept = {n: p for n, p in DEFAULT_NAMES.items() if n not in removed}
    expected = (
        NEW_SESSION
        + "".join("\n" + profile_text(name, *pair) for name, pair in kept.items())
        + MINE
    )
    assert undated(sandbox.config.read_text()) == expected
    [backup] = backups(sandbox)
    assert (sandbox.aws / backup).read_bytes() == original
    assert f"removed 3 profiles in {sandbox.config}" in result.stderr
    assert_works(sandbox, kept)

    again = configure(sandbox, *FLAGS, "--prune")
    assert again.returncode == 0, again.stderr
    assert f"nothing to change in {sandbox.config}" in again.stderr
    assert undated(sandbox.config.read_text()) == expected and backups(sandbox) == [backup]


def test_without_prune_vanished_profiles_stay(sandbox):
    sandbox.config.unlink()
    sandbox.login(SESSION)
    assert configure(sandbox, *FLAGS).returncode == 0
    before = sandbox.files()
    sandbox.emulator.accounts = sandbox.emulator.accounts[:1]
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    assert sandbox.files() == before
    assert "remove" not in result.stdout


def test_profiles_without_the_marker_are_never_pruned(sandbox):
    sandbox.config.unlink()
    sandbox.login(SESSION)
    assert configure(sandbox, *FLAGS).returncode == 0
    # as an earlier version wrote them: no ssoexec_managed line
    sandbox.write_config(sandbox.config.read_text().replace("ssoexec_managed = true\n", ""))
    before = sandbox.files()
    sandbox.emulator.accounts = sandbox.emulator.accounts[:1]
    result = configure(sandbox, *FLAGS, "--prune")
    assert result.returncode == 0, result.stderr
    assert sandbox.files() == before
    assert f"nothing to change in {sandbox.config}" in result.stderr


def test_update_changes_only_the_keys_configure_writes(sandbox):
    config = CONFIG + (
        '\n[profile "nore"]\nsso_session=corp\n  # indented comment\nsso_account_id: 333333333333'
        "\nsso_role_name = Developer\n\n# about the next one\n[profile last]\nregion = x\n"
    )
    sandbox.write_config(config)
    sandbox.login("corp")
    assert configure(sandbox, *FLAGS, "--dry-run").returncode == 0
    first = configure(sandbox, *FLAGS, "--region", "ap-south-1")  # adds, changes nothing else
    assert first.returncode == 0, first.stderr
    assert "--update sets region = ap-south-1" in first.stdout
    added = sandbox.config.read_text()
    assert added.startswith(config)
    result = configure(sandbox, *FLAGS, "--region", "ap-south-1", "--update")
    assert result.returncode == 0, result.stderr
    dev, nore = "sso_role_name = Admin\n", "sso_role_name = Developer\n"
    expected = added.replace(f"{dev}region = eu-west-1\n", f"{dev}region = ap-south-1\n")
    expected = expected.replace(f"{nore}\n# about", f"{nore}region = ap-south-1\n\n# about")
    assert sandbox.config.read_text() == expected
    assert "updated 2 profiles" in result.stderr
    assert len(backups(sandbox)) == 2
    assert sandbox.probe("-p", "dev", env=NO_STS)["env"]["AWS_REGION"] == "ap-south-1"
    assert sandbox.probe("-p", "nore")["account"] == "333333333333"
    again = configure(sandbox, *FLAGS, "--region", "ap-south-1", "--update")
    assert "nothing to change" in again.stderr and sandbox.config.read_text() == expected


def test_an_existing_sso_session_by_name_needs_no_other_flag(sandbox):
    sandbox.login("corp")
    result = configure(sandbox, "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert "[sso-session corp]" not in sandbox.config.read_text().split("# Added")[1]


def test_no_flags_and_no_terminal_fails_at_once(sandbox):
    before = sandbox.files()
    result = configure(sandbox)
    assert_one_error(result, "no --start-url and --sso-region given", "--start-url https://")
    assert "--sso-region" in result.stderr.splitlines()[1]
    assert sum(sandbox.emulator.calls.values()) == 0
    assert sandbox.files() == before


@pytest.mark.parametrize(
    ("args", "status", "words", "hint"),
    [
        (
            ["--profile-template", "{account}-{role_name}", *FLAGS],
            2,
            "unknown field {account}",
            "{account_name}",
        ),
        (["--profile-template", "{}", *FLAGS], 2, "unknown field {}", "{role_name}"),
        (
            ["--start-url", "http://d-1.awsapps.com/start", "--sso-region", "us-east-1"],
            2,
            "not an https:// URL",
            "https://",
        ),
        (["--start-url", START_URL, "--sso-region", "us east 1"], 2, "not a region", "us-east-1"),
        ([*FLAGS, "--region", "EU"], 2, "not a region name", "--region like"),
        (
            ["--sso-session", "corp", "--start-url", "https://other.awsapps.com/start"],
            125,
            "sso-session 'corp' already exists with start URL",
            "--sso-session NAME",
        ),
        (
            ["--start-url", START_URL, "--sso-region", "eu-west-1"],
            125,
            "sso-session 'corp' already exists",
            "--sso-session NAME",
        ),
        (["--sso-session", "my corp", *FLAGS], 2, "not a usable section name", "my-corp"),
    ],
    ids=[
        "unknown-field",
        "positional-field",
        "http",
        "sso-region",
        "region",
        "session-url",
        "session-region",
        "session-name",
    ],
)
def test_bad_input_changes_nothing_and_calls_nothing(sandbox, args, status, words, hint):
    sandbox.login("corp")
    before = sandbox.files()
    assert_one_error(configure(sandbox, *args), words, hint, status)
    assert sandbox.files() == before
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize("where", ["parent-is-a-file", "config-is-a-folder", "read-only-folder"])
def test_a_config_location_that_cannot_be_written(sandbox, where):
    """As root no permission bit stops a write, so two of the cases use a path that cannot be
    a file at all; the permission case runs for other users."""
    sandbox.login(SESSION)
    if where == "parent-is-a-file":
        (sandbox.home / "dotfiles").write_text("not a folder\n")
        target, words = sandbox.home / "dotfiles" / "config", "is not a folder"
    elif where == "config-is-a-folder":
        target, words = sandbox.home / "config.d", "is not a regular file"
        target.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root may write in a folder without write permission")
        target, words = sandbox.config, "permission denied"
        sandbox.aws.chmod(0o500)
    before = sandbox.files()
    try:
        result = configure(sandbox, *FLAGS, env={"AWS_CONFIG_FILE": str(target)})
    finally:
        sandbox.aws.chmod(0o755)
    assert_one_error(result, words, "AWS_CONFIG_FILE")
    assert sandbox.files() == before
    assert sum(sandbox.emulator.calls.values()) == 0


def test_a_failed_write_leaves_the_file_and_no_backup(sandbox):
    """The disk fills up after the listing (RLIMIT_FSIZE: the new file cannot be written in
    full): the old file stays as it was, and no backup or temp file is left beside it."""
    sandbox.login("corp")
    limit = len(sandbox.config.read_bytes()) + 100
    before = sandbox.files()
    result = configure(
        sandbox,
        *FLAGS,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )
    assert_one_error(result, "cannot write the AWS config", "was not changed")
    assert sandbox.emulator.calls["ListAccounts"] == 1  # it failed at the very end
    assert sandbox.files() == before


def test_no_token_and_nobody_there(sandbox):
    before = sandbox.files()
    result = configure(sandbox, *FLAGS)
    assert_one_error(result, "is missing", "ssoexec login --sso-session corp")
    assert sandbox.files() == before
    sandbox.config.unlink()  # a new sso-session: `ssoexec login` could not name it yet
    before = sandbox.files()
    result = configure(sandbox, *FLAGS)
    assert_one_error(result, f"sso-session '{SESSION}' is missing", "at a terminal")
    assert sandbox.files() == before
    assert sum(sandbox.emulator.calls.values()) == 0


def test_a_refused_token_is_refreshed_and_the_listing_done_again(sandbox):
    token = json.loads(sandbox.login("corp").read_text())
    sandbox.emulator.revoke(token["accessToken"])
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    calls = sandbox.emulator.calls
    assert (calls["ListAccounts"], calls["CreateToken"]) == (2, 1)
    assert_works(sandbox, {"sandbox-readonly": ("333333333333", "ReadOnly")})


def test_a_refused_token_that_cannot_be_renewed_changes_nothing(sandbox):
    """Refused, with no refresh token and nobody to sign in: said once, with the command that
    signs in to that sso-session, or (for a session not yet in the file) where to run configure."""
    path = sandbox.login("corp", refreshable=False)
    sandbox.emulator.revoke(json.loads(path.read_text())["accessToken"])
    before = sandbox.files()
    result = configure(sandbox, *FLAGS)
    assert_one_error(result, "was refused by AWS SSO", "ssoexec login --sso-session corp")
    assert sandbox.files() == before
    sandbox.config.unlink()
    path = sandbox.login(SESSION, refreshable=False)
    sandbox.emulator.revoke(json.loads(path.read_text())["accessToken"])
    before = sandbox.files()
    result = configure(sandbox, *FLAGS)
    assert_one_error(result, f"sso-session '{SESSION}' was refused", "at a terminal")
    assert sandbox.files() == before
    assert sandbox.emulator.calls["ListAccounts"] == 2  # once each: nothing to renew it with


def test_throttling_is_retried_by_botocore(sandbox):
    sandbox.login("corp")
    sandbox.emulator.fail("ListAccountRoles", 429)
    result = configure(sandbox, *FLAGS)
    assert result.returncode == 0, result.stderr
    assert sandbox.emulator.calls["ListAccountRoles"] == 4


class Browser:
    """BROWSER=<tests/browser.py>, which follows the sign-in link as a person would."""

    def __init__(self, sandbox, tmp_path):
        self.log = tmp_path / "browser.log"
        self.log.touch()
        launcher = tmp_path / "browser"
        launcher.write_text(f'#!/bin/sh\nexec {PYTHON} {os.path.dirname(PROBE)}/browser.py "$@"\n')
        launcher.chmod(0o755)
        sandbox.env.update(BROWSER=str(launcher), BROWSER_LOG=str(self.log))

    @property
    def urls(self):
        return self.log.read_text().splitlines()


def test_a_person_at_a_terminal_is_signed_in_first(sandbox, tmp_path):
    browser = Browser(sandbox, tmp_path)
    sandbox.config.unlink()
    status, output = run_in_terminal([SSOEXEC, "configure", *FLAGS], sandbox.env)
    assert status == 0, output
    assert f"signed in to sso-session '{SESSION}'" in output
    assert len(browser.urls) == 1
    assert sandbox.token_path(SESSION).exists()
    assert undated(sandbox.config.read_text()).startswith(NEW_SESSION)
    assert_works(sandbox, {"prod-account-admin": ("222222222222", "Admin")})


def test_no_flags_at_a_terminal_asks_for_the_start_url_and_region(sandbox):
    sandbox.config.unlink()
    sandbox.login(SESSION)
    replies = [("SSO start URL", START_URL), ("SSO region", "us-east-1")]
    status, output = run_in_terminal([SSOEXEC, "configure"], sandbox.env, replies=replies)
    assert status == 0, output
    assert undated(sandbox.config.read_text()).startswith(NEW_SESSION)
    assert_works(sandbox, {"dev-account-admin": ("111111111111", "Admin")})


# The text helpers, on literal data (the plan: test_configure_plan.py)


TRICKY = """\
[default]
region = us-east-1
s3 =
    max_concurrent_requests = 2
  [profile swallowed] = a continuation of s3, not a section
[profile "quoted name"]   
region : eu-west-1
# [profile commented]
; [profile commented too]
[profile empty]
  [profile indented]
[sso-session corp]
"""  # noqa: W291


def test_scan_finds_the_sections_configparser_finds():
    parser = configparser.RawConfigParser()
    parser.read_string(TRICKY)
    sections = scan(split_lines(TRICKY))
    assert [s.header for s in sections] == parser.sections()
    assert len(parser.sections()) == 5
    assert [profile_of(s.header) for s in sections] == [
        "default",
        "quoted name",
        "empty",
        "indented",
        None,
    ]


def test_set_keys_rewrites_values_and_keeps_the_rest():
    section = split_lines(
        "[profile a]\r\n  region:eu-west-1\r\n    more of it\r\n# note\r\nsso_session =\r\n"
    )
    got = set_keys(
        section, {"region": "us-east-1", "sso_session": "s", "sso_role_name": "R"}, "\r\n"
    )
    assert "".join(got) == (
        "[profile a]\r\n  region:us-east-1\r\n# note\r\nsso_session = s\r\nsso_role_name = R\r\n"
    )


PLAN = Plan(
    SsoSession(START_URL, "us-east-1", "s", ("sso:account:access",)),
    False,
    "us-east-1",
    (Entry("add", "p", Assignment("1", "R", "A")),),
)
ADDED_SECTIONS = new_sections(PLAN)
EXPECTED = Expected(added=ADDED_SECTIONS, updates={})


def test_new_text_appends_after_a_last_line_without_newline():
    text = new_text("[profile x]\r\nregion = y", ADDED_SECTIONS, {}, today="2026-11-25")
    assert text == (
        "[profile x]\r\nregion = y\r\n\r\n# Added by ssoexec configure on 2026-11-25\r\n"
        "[profile p]\r\nsso_session = s\r\nsso_account_id = 1\r\nsso_role_name = R\r\n"
        "region = us-east-1\r\nssoexec_managed = true\r\n"
    )


@pytest.mark.parametrize(
    "harm",
    [
        lambda text: text.replace("region = y", "region = z"),  # the user's value changed
        lambda text: text.split("# Added")[0],  # a planned section missing
        lambda text: text.replace("[profile p]", "[profile x]"),  # a duplicate section
        lambda text: text + "[profile q]\n",  # a section nobody planned
    ],
    ids=["changed", "missing", "duplicate", "extra"],
)
def test_a_new_file_that_would_not_read_back_as_planned_is_refused(tmp_path, harm):
    old = tmp_path / "old"
    old.write_text("; mine\n[profile x]\nregion = y\n")
    new = tmp_path / "new"
    new.write_text(new_text(old.read_text(), ADDED_SECTIONS, {}, today="2026-11-25"))
    check_reads_back(new, old, EXPECTED)  # as planned: fine
    new.write_text(harm(new.read_text()))
    with pytest.raises(SsoexecError, match="would not read back as planned"):
        check_reads_back(new, old, EXPECTED)


PRUNED_TEXT = (
    "; mine\r\n[profile x]\r\nregion = y\r\n\r\n[profile gone]\r\nsso_session = s\r\n"
    "# inside\r\nsso_account_id = 1\r\n  continued\r\n\r\n# about the next one\r\n"
    '[profile "z"]\r\nregion = w\r\n\r\n[profile last]\r\nregion = v'
)


def test_new_text_removes_whole_sections_and_keeps_the_rest(tmp_path):
    removed = {"profile gone", "profile last"}
    text = new_text(PRUNED_TEXT, {}, {}, today="2026-11-25", removed=removed)
    assert text == (
        "; mine\r\n[profile x]\r\nregion = y\r\n\r\n# about the next one\r\n"
        '[profile "z"]\r\nregion = w\r\n\r\n'
    )
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_bytes(PRUNED_TEXT.encode())
    new.write_bytes(text.encode())
    check_reads_back(new, old, Expected(added={}, updates={}, removed=("gone", "last")))
    with pytest.raises(SsoexecError, match="would not read back as planned"):
        check_reads_back(new, old, Expected(added={}, updates={}, removed=("gone",)))
    new.write_bytes(PRUNED_TEXT.encode())  # not removed after all
    with pytest.raises(SsoexecError, match="would not read back as planned"):
        check_reads_back(new, old, Expected(added={}, updates={}, removed=("gone", "last")))
