"""`ssoexec export` and `ssoexec credential-process`: the text, read back by the real shells
(bash, dash, zsh, fish), by boto3 as a credential_process, and by a shell sourcing a .env file;
end to end through the installed script against the emulator."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ssoexec.export import changes, profile_chain, render
from tests.conftest import CONFIG, PROBE, PYTHON, SSOEXEC, run_in_terminal

SSO_ADMIN_DEV = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_"
SET = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "SSOEXEC_PROFILE",
    "SSOEXEC_EXPIRATION",
}
# What the sandbox itself gives every process, and the child keeps.
SANDBOX_AWS = {
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SIGNIN",
    "SSOEXEC_AGENT",
}
INHERITED = {
    "AWS_PROFILE": "legacy",
    "AWS_DEFAULT_PROFILE": "legacy",
    "AWS_SECURITY_TOKEN": "stale-security-token",
    "AWS_ACCESS_KEY_ID": "AKIASTALE",
    "AWS_SESSION_TOKEN": "stale-session-token",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "stale",
}
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# ------------------------------------------------------------------ render(), literal data

SIMPLE = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "SSOEXEC_PROFILE": "it's"}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "sh",
            "unset AWS_PROFILE\n"
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n"
            "export SSOEXEC_PROFILE='it'\\''s'\n",
        ),
        (
            "fish",
            "set -e AWS_PROFILE\n"
            "set -gx AWS_ACCESS_KEY_ID 'ASIAEXAMPLE'\n"
            "set -gx SSOEXEC_PROFILE 'it\\'s'\n",
        ),
        (
            "powershell",
            "Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue\n"
            "$Env:AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE'\n"
            "$Env:SSOEXEC_PROFILE = 'it''s'\n",
        ),
        ("dotenv", 'AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nSSOEXEC_PROFILE="it\'s"\n'),
        (
            "json",
            '{\n  "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",\n  "SSOEXEC_PROFILE": "it\'s"\n}\n',
        ),
    ],
)
def test_render_text(fmt, expected):
    assert render(SIMPLE, ["AWS_PROFILE"], fmt) == expected


# Values a shell would mangle if quoted wrongly: quotes of every kind, expansions, command
# substitutions, globs, backslashes, newlines, tabs, spaces at the ends, non-ASCII, empty.
TRICKY = {
    "T_SINGLE": "it's 'quoted'",
    "T_DOUBLE": 'say "hi"',
    "T_DOLLAR": "$HOME ${HOME} $(touch pwned) `touch pwned` $",
    "T_BACKSLASH": "back\\slash\\ \\' \\\\ \\n ends\\",
    "T_NEWLINES": "two\nlines\n\nand a trailing one\n",
    "T_SPACES": "  lead, tab\tand trail  ",
    "T_GLOB": "* ? [a] ~ # ; & | < > ! %",
    "T_UNICODE": "ünïcödé \u2018typographic\u2019 \u201cquotes\u201d",
    "T_EMPTY": "",
}
DUMP = f"{PYTHON} -c 'import json, os; print(json.dumps(dict(os.environ)))'"


def shell_eval(shell: str, script_file: Path, tmp_path: Path, env: dict) -> dict:
    """Evaluate the rendered text in a real shell as a user would; the environment it exports
    to a child afterwards."""
    argv = {
        "bash": ["bash", "-c", f'eval "$(cat {script_file})"; exec {DUMP}'],
        "sh": ["sh", "-c", f'eval "$(cat {script_file})"; exec {DUMP}'],
        "zsh": ["zsh", "-f", "-c", f'eval "$(cat {script_file})"; exec {DUMP}'],
        "fish": ["fish", "--no-config", "-c", f"cat {script_file} | source; exec {DUMP}"],
    }[shell]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed (apt-get install {argv[0]})")
    result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


@pytest.mark.parametrize("shell", ["bash", "sh", "zsh", "fish"])
def test_every_value_round_trips_through_the_shell(shell, tmp_path):
    fmt = "fish" if shell == "fish" else "sh"
    script = tmp_path / "exports"
    script.write_text(render(TRICKY, ["T_GONE", "T_NEVER_SET"], fmt))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "T_GONE": "x", "T_SPACES": "old"}
    seen = shell_eval(shell, script, tmp_path, env)
    assert {k: v for k, v in seen.items() if k.startswith("T_")} == TRICKY
    assert not (tmp_path / "pwned").exists()


def test_powershell_doubles_every_kind_of_single_quote():
    text = render({"A": 'it\'s \u2018x\u2019 \u201ay\u201b $HOME `n "z"'}, ["B"], "powershell")
    assert text == (
        "Remove-Item Env:B -ErrorAction SilentlyContinue\n"
        "$Env:A = 'it''s \u2018\u2018x\u2019\u2019 \u201a\u201ay\u201b\u201b $HOME `n \"z\"'\n"
    )


def test_json_parses_back_to_the_variables_and_has_no_removals():
    assert json.loads(render(TRICKY, ["AWS_PROFILE"], "json")) == TRICKY


def test_dotenv_bare_and_quoted_values():
    text = render(
        {"A": "ASIA+/x=", "B": "2030-01-02T03:04:05Z", "C": 'a "b"\\c\nd\te f', "D": ""},
        [],
        "dotenv",
    )
    assert text == "A=ASIA+/x=\nB=2030-01-02T03:04:05Z\nC='a \"b\"\\c\nd\te f'\nD=\n"
    assert render({"E": "it's"}, [], "dotenv") == 'E="it\'s"\n'


# Values that must not run anything when a .env file is sourced, and must read back the same.
INJECTIONS = {
    "I_SUBST": "$(touch pwned-subst)",
    "I_BACKTICK": "`touch pwned-backtick`",
    "I_VAR": "$HOME and $(echo) and $",
    "I_DOUBLE": 'say "$(touch pwned-double)"',
    "I_SINGLE": "it's",
    "I_BACKSLASH": "a\\b \\$x \\n",
    "I_NEWLINE": "one\n$(touch pwned-newline)\ntwo",
    "I_SEMICOLON": "x; touch pwned-semicolon #",
}
# No quoting keeps these literal for both sh and python-dotenv: refused, never written.
UNWRITABLE = ["it's $(touch pwned)", "it's `x`", "back\\\\slash", "ends\\", "'\\'", "${HOME}"]


def read_docker_env_file(text: str, *, strip_quotes: bool) -> dict[str, str]:
    """docker run --env-file, as documented (docker/cli pkg/kvfile): one KEY=VALUE a line,
    leading whitespace and `#` lines skipped, the value taken literally after the first `=`;
    `strip_quotes`: the newer CLI's rule that removes one matching pair of outer quotes."""
    values = {}
    for line in text.splitlines():
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if strip_quotes and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_dotenv_sourced_runs_nothing_and_reads_as_python_dotenv(shell, tmp_path):
    import dotenv

    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    tricky = {k: v for k, v in TRICKY.items() if k not in ("T_BACKSLASH", "T_DOLLAR")}
    values = {**INJECTIONS, **tricky, "I_ESCAPED_QUOTE": 'a\\"b'}
    path = tmp_path / ".env"
    path.write_text(render(values, [], "dotenv"))
    script = f"set -a; . {path}; exec {DUMP}"
    result = subprocess.run(
        [shell, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == [path], "sourcing the file ran a command"
    sourced = json.loads(result.stdout)
    read = dotenv.dotenv_values(path)
    for name, value in values.items():
        assert sourced[name] == value, name
        assert read[name] == value, name


def test_dotenv_refuses_a_value_no_quoting_keeps_literal():
    from ssoexec.errors import SsoexecError

    for value in UNWRITABLE:
        with pytest.raises(SsoexecError, match="cannot be written to a dotenv file"):
            render({"SSOEXEC_PROFILE": value}, [], "dotenv")


def test_dotenv_as_docker_reads_it(tmp_path):
    """docker is not here: its documented rule, in a small reader. Bare values (every key,
    token, timestamp and region) read alike; a quoted one keeps its quotes in docker 28 and
    older, and reads alike in the newer CLI that strips a matching pair (no escapes either)."""
    import dotenv

    bare = {"K": "ASIA+/x=", "T": "2030-01-02T03:04:05Z", "R": "eu-west-1", "E": ""}
    quoted = {k: v for k, v in INJECTIONS.items() if "\n" not in v}  # docker: one line each
    path = tmp_path / ".env"
    path.write_text(render({**bare, **quoted}, [], "dotenv"))
    text = path.read_text()
    literal = read_docker_env_file(text, strip_quotes=False)
    stripped = read_docker_env_file(text, strip_quotes=True)
    read = dotenv.dotenv_values(path)
    for name, value in bare.items():
        assert literal[name] == stripped[name] == read[name] == value
    for name, value in quoted.items():
        assert stripped[name] == read[name] == value
        assert literal[name] in (f"'{value}'", f'"{value}"')


def test_changes_remove_what_the_child_lacks_and_the_set_variables_not_set_this_time():
    parent = {"PATH": "/bin", "AWS_PROFILE": "p", "AWS_CONTAINER_CREDENTIALS_X": "1", "K": "v"}
    child = {"PATH": "/bin", "K": "v", "AWS_ACCESS_KEY_ID": "AKIA", "SSOEXEC_PROFILE": "st"}
    variables, removed = changes(parent, child)
    assert variables == {"AWS_ACCESS_KEY_ID": "AKIA", "SSOEXEC_PROFILE": "st"}
    assert removed == sorted(
        {
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_X",
            *(SET - {"AWS_ACCESS_KEY_ID", "SSOEXEC_PROFILE"}),
        }
    )


@pytest.mark.parametrize(
    ("value", "chain"),
    [(None, []), ('["a", "b"]', ["a", "b"]), ("garbage", []), ('{"a": 1}', []), ("[1]", [])],
)
def test_profile_chain_reads_only_a_list_of_names(value, chain):
    assert profile_chain({} if value is None else {"_SSOEXEC_PROFILE_CHAIN": value}) == chain


# ------------------------------------------------------------------ export, end to end


def in_shell(sandbox, argv, env=None):
    """argv (a shell -c script) with the sandbox's environment, no terminal."""
    return subprocess.run(
        argv,
        env={**sandbox.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def probe_report(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return json.loads(result.stdout)


def test_eval_in_bash_gives_the_shell_what_the_child_would_get(sandbox):
    sandbox.login("corp")
    script = f'eval "$(ssoexec export -p dev)"; exec {PYTHON} {PROBE}'
    report = probe_report(in_shell(sandbox, ["bash", "-c", script], env=INHERITED))
    env = report["env"]
    assert set(env) == SET | SANDBOX_AWS
    assert report["arn"].startswith(SSO_ADMIN_DEV)  # boto3 in that shell is the dev role
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["SSOEXEC_PROFILE"] == "dev"
    assert env["AWS_CREDENTIAL_EXPIRATION"] == env["SSOEXEC_EXPIRATION"]
    assert RFC3339_Z.match(env["AWS_CREDENTIAL_EXPIRATION"])
    assert env["AWS_SECRET_ACCESS_KEY"] in sandbox.emulator.credential_secrets()
    # The same variables, and values, as the exec'd child sees.
    child = sandbox.probe("-p", "dev", env={**INHERITED, "PROBE_NO_AWS": "1"})["env"]
    assert set(child) == set(env)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "SSOEXEC_PROFILE"):
        assert child[name] == env[name]
    sandbox.assert_no_credentials_on_disk()


def test_the_root_profile_option_wins_over_an_inherited_aws_profile(sandbox):
    sandbox.login("corp")
    script = f'eval "$(ssoexec -p dev export)"; exec {PYTHON} {PROBE}'
    report = probe_report(in_shell(sandbox, ["bash", "-c", script], env=INHERITED))
    assert report["arn"].startswith(SSO_ADMIN_DEV)


def test_source_in_fish(sandbox):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (apt-get install fish)")
    sandbox.login("corp")
    script = f"ssoexec export -p dev --format fish | source; exec {PYTHON} {PROBE}"
    report = probe_report(in_shell(sandbox, ["fish", "--no-config", "-c", script], INHERITED))
    assert set(report["env"]) == SET | SANDBOX_AWS
    assert report["arn"].startswith(SSO_ADMIN_DEV)
    assert report["env"]["AWS_REGION"] == "eu-west-1"


def test_static_keys_unset_an_inherited_session_token(sandbox):
    key, secret = sandbox.emulator.add_static_user("444444444444", "ci-user")
    sandbox.write_config(
        f"[profile st]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    stale = {"AWS_SESSION_TOKEN": "stale", "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z"}
    result = sandbox.run("-p", "st", "export", env=stale)
    assert result.returncode == 0, result.stderr
    assert "unset AWS_SESSION_TOKEN\n" in result.stdout
    assert "export AWS_SESSION_TOKEN" not in result.stdout
    assert f"export AWS_ACCESS_KEY_ID='{key}'\n" in result.stdout
    script = f'eval "$(ssoexec -p st export)"; exec {PYTHON} {PROBE}'
    report = probe_report(in_shell(sandbox, ["bash", "-c", script], env=stale))
    assert report["arn"] == "arn:aws:iam::444444444444:user/ci-user"
    assert (
        set(report["env"])
        == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} | {"SSOEXEC_PROFILE"} | SANDBOX_AWS
    )


def test_json_and_dotenv(sandbox, tmp_path):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "export", "--format", "json")
    assert result.returncode == 0 and result.stderr == ""
    variables = json.loads(result.stdout)
    assert set(variables) == SET
    assert variables["SSOEXEC_PROFILE"] == "dev"
    # A .env file of real credentials is plain NAME=value: `set -a; . ./.env` reads it too.
    result = sandbox.run("export", "-p", "dev", "--format", "dotenv", env=INHERITED)
    assert result.returncode == 0 and result.stderr == ""
    assert re.fullmatch(r"([A-Z_]+=[A-Za-z0-9_./:+=@,-]+\n){8}", result.stdout)
    (tmp_path / ".env").write_text(result.stdout)
    script = f"set -a; . ./.env; exec {PYTHON} {PROBE}"
    report = probe_report(
        subprocess.run(
            ["sh", "-c", script],
            env=sandbox.env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    assert report["arn"].startswith(SSO_ADMIN_DEV)


def test_powershell_format_end_to_end(sandbox):
    sandbox.login("corp")
    result = sandbox.run("export", "-p", "dev", "--format", "powershell", env=INHERITED)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue" in lines
    assert "$Env:SSOEXEC_PROFILE = 'dev'" in lines
    assert sum(line.startswith("$Env:") for line in lines) == 8


def test_warning_on_a_terminal_only(sandbox):
    sandbox.login("corp")
    status, output = run_in_terminal([SSOEXEC, "-p", "dev", "export"], sandbox.env)
    assert status == 0, output
    warnings = [line for line in output.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("ssoexec: warning: ")
    assert 'eval "$(ssoexec -p dev export)"' in warnings[0]
    assert "export AWS_ACCESS_KEY_ID=" in output
    piped = sandbox.run("-p", "dev", "export")
    assert piped.returncode == 0 and piped.stderr == ""
    assert "warning" not in piped.stdout


def test_export_of_an_unknown_profile_prints_nothing(sandbox):
    result = sandbox.run("-p", "prodd", "export")
    assert result.returncode == 125
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "profile 'prodd' is not in" in lines[0]


def test_export_without_a_token_signs_in_nobody_and_prints_nothing(sandbox):
    result = sandbox.run("-p", "dev", "export")
    assert result.returncode == 125 and result.stdout == ""
    assert "ssoexec login -p dev" in result.stderr
    assert sum(sandbox.emulator.calls.values()) == 0


# ------------------------------------------------------------------ credential-process

PROC_CONFIG = (
    CONFIG
    + f"""
[profile dev-proc]
credential_process = {SSOEXEC} credential-process -p dev
"""
)
BOTO3_IDENTITY = """
import boto3, json
session = boto3.Session(profile_name="dev-proc")
credentials = session.get_credentials()
identity = session.client("sts", region_name="us-east-1").get_caller_identity()
print(json.dumps({"arn": identity["Arn"], "method": credentials.method}))
"""


def test_boto3_reads_credential_process(sandbox):
    sandbox.login("corp")
    sandbox.write_config(PROC_CONFIG)
    result = subprocess.run(
        [PYTHON, "-c", BOTO3_IDENTITY],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["arn"].startswith(SSO_ADMIN_DEV)
    assert report["method"] == "custom-process"
    sandbox.assert_no_credentials_on_disk()


def test_credential_process_output(sandbox):
    sandbox.login("corp")
    result = sandbox.run("credential-process", "-p", "dev")
    assert result.returncode == 0 and result.stderr == ""
    output = json.loads(result.stdout)
    assert output["Version"] == 1 and type(output["Version"]) is int
    assert set(output) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
        "AccountId",
    }
    assert output["AccessKeyId"] == sandbox.emulator.credentials_issued()[0]["access_key_id"]
    assert output["SecretAccessKey"] in sandbox.emulator.credential_secrets()
    assert output["SessionToken"] in sandbox.emulator.credential_secrets()
    assert RFC3339_Z.match(output["Expiration"])
    assert output["AccountId"] == "111111111111"


def test_credential_process_for_static_keys_has_no_token_or_expiration(sandbox):
    key, secret = sandbox.emulator.add_static_user("444444444444", "ci-user")
    sandbox.write_config(
        f"[profile st]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    )
    result = sandbox.run("credential-process", "-p", "st")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "Version": 1,
        "AccessKeyId": key,
        "SecretAccessKey": secret,
    }


@pytest.fixture
def browser_log(sandbox, tmp_path):
    log = tmp_path / "browser.log"
    launcher = tmp_path / "browser"
    launcher.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    launcher.chmod(0o755)
    sandbox.env["BROWSER"] = str(launcher)
    return log


def test_credential_process_never_signs_in_even_at_a_terminal(sandbox, browser_log):
    status, output = run_in_terminal(
        [SSOEXEC, "credential-process", "-p", "dev"], sandbox.env, timeout=20
    )
    assert status == 125, output
    lines = output.splitlines()
    assert len(lines) == 2, output
    assert lines[0].startswith("ssoexec: error: the SSO token for sso-session 'corp' is missing")
    assert "ssoexec login -p dev" in lines[1]
    assert not browser_log.exists()
    assert sum(sandbox.emulator.calls.values()) == 0


def test_credential_process_without_a_token_fails_boto3_with_the_reason(sandbox):
    sandbox.write_config(PROC_CONFIG)
    result = subprocess.run(
        [PYTHON, "-c", BOTO3_IDENTITY], env=sandbox.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ssoexec login -p dev" in result.stderr
    assert sum(sandbox.emulator.calls.values()) == 0


LOOPS = (
    CONFIG
    + f"""
[profile self]
credential_process = {SSOEXEC} credential-process -p self

[profile ping]
credential_process = {SSOEXEC} credential-process -p pong

[profile pong]
credential_process = {SSOEXEC} credential-process -p ping
"""
)


@pytest.mark.parametrize(
    ("args", "loop"),
    [
        (["credential-process", "-p", "self"], "self -> self"),
        (["credential-process", "-p", "ping"], "ping -> pong -> ping"),
        (["-p", "self", "--", "true"], "self -> self"),
    ],
)
def test_a_credential_process_loop_fails_at_once(sandbox, args, loop):
    sandbox.write_config(LOOPS)
    started = time.monotonic()
    result = sandbox.run(*args, timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 125
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "runs `ssoexec credential-process` for itself" in lines[0]
    assert loop in lines[0]
    assert "hint: point credential_process at a profile with SSO settings" in result.stderr


def test_dotenv_of_a_profile_name_with_a_command_in_it(sandbox, tmp_path):
    """End to end: the file `export --format dotenv` writes is inert when sourced."""
    name = "st;touch;pwned;$(touch)`touch`|touch>pwned2"
    sandbox.write_config(
        CONFIG + f"[profile {name}]\naws_access_key_id = AKIASTATIC\n"
        "aws_secret_access_key = static-secret\nregion = eu-north-1\n"
    )
    result = sandbox.run("export", "-p", name, "--format", "dotenv")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".env").write_text(result.stdout)
    for shell in ("sh", "bash"):
        script = f"set -a; . ./.env; exec {DUMP}"
        sourced = subprocess.run(
            [shell, "-c", script],
            env=sandbox.env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sourced.returncode == 0, sourced.stderr
        assert json.loads(sourced.stdout)["SSOEXEC_PROFILE"] == name
        assert [p.name for p in folder.iterdir()] == [".env"]
