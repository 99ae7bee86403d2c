"""End to end with a real agent: the installed script, the emulator, and the agent it starts.

A warm run gets from the agent what a cold run would fetch, with no AWS call; an edit of the
config, a logout, a killed agent each lead back to what a cold run does, without an error."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from tests.conftest import PROBE, PYTHON, SSOEXEC, AgentHandle, run_in_terminal, wait_for
from tests.test_direct_role_e2e import only_role_in

ON = {"SSOEXEC_AGENT": "", "SSOEXEC_AGENT_IDLE": "300"}  # the sandbox turns it off by default
OFF = {**ON, "SSOEXEC_AGENT": "off"}
NO_AWS = {"PROBE_NO_AWS": "1"}
SECRET_OR_EXPIRY = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "SSOEXEC_EXPIRATION",
)


def start_agent(sandbox) -> int:
    """Started explicitly; the sandbox's teardown kills it."""
    return AgentHandle(sandbox, ON).pid


def agent_status(sandbox) -> dict:
    result = sandbox.run("agent", "status", "--json", env=ON)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def handed_over(sandbox) -> list:
    """The entries of the running agent, or [] while none runs yet (the hand-off helper
    starts one in the background, after the run it came from has ended)."""
    result = sandbox.run("agent", "status", "--json", env=ON)
    return json.loads(result.stdout).get("entries", []) if result.returncode == 0 else []


def probe(sandbox, *args: str, env: dict | None = None) -> dict:
    return sandbox.probe(*args, env={**ON, **(env or {})})


def fetches(sandbox) -> int:
    return sandbox.emulator.calls["GetRoleCredentials"]


def test_a_warm_run_makes_no_aws_call_and_gives_a_cold_runs_environment(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    first = probe(sandbox, "-p", "dev")  # the agent fetches it
    assert fetches(sandbox) == 1
    calls = dict(sandbox.emulator.calls)
    warm = probe(sandbox, "-p", "dev", env=NO_AWS)
    assert dict(sandbox.emulator.calls) == calls  # no AWS call at all
    assert warm["env"] == first["env"]  # the very credentials, and all else alike
    cold = sandbox.probe("-p", "dev", env={**OFF, **NO_AWS})
    assert fetches(sandbox) == 2
    assert cold["env"]["AWS_ACCESS_KEY_ID"] != warm["env"]["AWS_ACCESS_KEY_ID"]
    assert set(cold["env"]) == set(warm["env"])
    for name, value in warm["env"].items():
        if name not in (*SECRET_OR_EXPIRY, "SSOEXEC_AGENT"):
            assert cold["env"][name] == value, name
    assert warm["env"]["AWS_REGION"] == warm["env"]["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert first["arn"].startswith("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_")


def test_a_warm_run_keeps_the_region_rules(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    probe(sandbox, "-p", "dev", env=NO_AWS)
    inherited = probe(sandbox, "-p", "dev", env={**NO_AWS, "AWS_REGION": "ap-south-1"})
    assert inherited["env"]["AWS_DEFAULT_REGION"] == "ap-south-1"
    option = probe(sandbox, "-p", "dev", "--region", "us-east-2", env=NO_AWS)
    assert option["env"]["AWS_REGION"] == option["env"]["AWS_DEFAULT_REGION"] == "us-east-2"
    calls = fetches(sandbox)
    again = probe(sandbox, "-p", "dev", env={**NO_AWS, "AWS_REGION": "ap-south-1"})
    assert fetches(sandbox) == calls
    assert again["env"] == inherited["env"]


def test_editing_the_role_or_account_changes_the_next_runs_credentials(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    assert ":assumed-role/AWSReservedSSO_Admin_" in probe(sandbox, "-p", "dev")["arn"]
    text = sandbox.config.read_text()
    sandbox.write_config(text.replace("sso_role_name = Admin", "sso_role_name = ReadOnly", 1))
    assert ":assumed-role/AWSReservedSSO_ReadOnly_" in probe(sandbox, "-p", "dev")["arn"]
    sandbox.write_config(
        text.replace("sso_account_id = 111111111111", "sso_account_id = 222222222222", 1)
    )
    assert probe(sandbox, "-p", "dev")["account"] == "222222222222"
    assert fetches(sandbox) == 3


def test_an_agent_killed_mid_request_costs_a_cold_run_and_no_error(sandbox):
    sandbox.login("corp")
    pid = start_agent(sandbox)
    sandbox.emulator.latency = 1.0  # the agent's fetch is in flight for a second
    run = sandbox.start("-p", "dev", "--", PYTHON, PROBE, env=ON)
    wait_for(lambda: fetches(sandbox) == 1, what="the agent's fetch")
    os.kill(pid, signal.SIGKILL)  # while the run waits for its answer
    sandbox.emulator.latency = 0
    stdout, stderr = run.communicate(timeout=60)
    assert (run.returncode, stderr) == (0, "")
    assert json.loads(stdout)["account"] == "111111111111"
    assert fetches(sandbox) == 2  # the agent's, lost with it, then the run's own


def run_many(sandbox, count: int, *args: str) -> list[str]:
    runs = [sandbox.start(*args, env=ON) for _ in range(count)]
    outputs = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        assert (run.returncode, stderr) == (0, "")
        outputs.append(stdout)
    return outputs


def test_32_parallel_first_runs_make_one_fetch(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    keys = run_many(sandbox, 32, "-p", "dev", "--", "printenv", "AWS_ACCESS_KEY_ID")
    assert fetches(sandbox) == 1
    assert len(set(keys)) == 1 and keys[0].startswith("ASIA")


def test_32_parallel_warm_runs_make_no_aws_call(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    probe(sandbox, "-p", "dev", env=NO_AWS)
    calls = dict(sandbox.emulator.calls)
    keys = run_many(sandbox, 32, "-p", "dev", "--", "printenv", "AWS_ACCESS_KEY_ID")
    assert dict(sandbox.emulator.calls) == calls
    assert len(set(keys)) == 1


@pytest.mark.parametrize("how", [("-p", "dev"), ("--all",), ("--sso-session", "corp")])
def test_logout_wipes_the_agent(sandbox, how):
    sandbox.login("corp")
    start_agent(sandbox)
    probe(sandbox, "-p", "dev", env=NO_AWS)
    assert [e["profile"] for e in agent_status(sandbox)["entries"]] == ["dev"]
    result = sandbox.run("logout", *how, env=ON)
    assert result.returncode == 0, result.stderr
    assert agent_status(sandbox)["entries"] == []
    failed = sandbox.run("-p", "dev", "--", "true", env=ON)  # signed out: nothing to serve
    assert failed.returncode == 125 and "ssoexec: error:" in failed.stderr


def test_warm_credential_process_prints_what_cold_prints(sandbox):
    sandbox.login("corp")
    cold = sandbox.run("credential-process", "-p", "dev", env=OFF)
    assert cold.returncode == 0, cold.stderr
    start_agent(sandbox)
    held = probe(sandbox, "-p", "dev", env=NO_AWS)["env"]
    calls = dict(sandbox.emulator.calls)
    warm = sandbox.run("credential-process", "-p", "dev", env=ON)
    assert (warm.returncode, warm.stderr) == (0, "")
    assert dict(sandbox.emulator.calls) == calls
    warm_json, cold_json = json.loads(warm.stdout), json.loads(cold.stdout)
    assert list(warm_json) == list(cold_json)  # the same fields, in the same order
    assert warm_json["Version"] == 1 and warm_json["AccountId"] == cold_json["AccountId"]
    assert warm_json["AccessKeyId"] == held["AWS_ACCESS_KEY_ID"]
    assert warm_json["SessionToken"] == held["AWS_SESSION_TOKEN"]
    assert warm_json["Expiration"] == held["AWS_CREDENTIAL_EXPIRATION"]
    again = sandbox.run("-p", "dev", "credential-process", env=ON)  # the root -p form
    assert again.stdout == warm.stdout


def test_in_ci_a_run_at_a_terminal_starts_no_agent(sandbox):
    sandbox.login("corp")
    env = {**sandbox.env, **ON, "CI": "true"}
    status, output = run_in_terminal([SSOEXEC, "--debug", "-p", "dev", "--", "true"], env)
    assert status == 0, output
    assert "agent: no hand-off" in output
    assert "handed to the agent" not in output
    assert not (sandbox.tmp / f"ssoexec-{os.getuid()}").exists()


def test_at_a_terminal_a_cold_run_starts_the_agent_and_the_next_run_is_warm(sandbox):
    """...in place of a dead agent's socket, left where the new one goes."""
    sandbox.login("corp")
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(folder / "agent.sock"))
    dead.close()
    env = {**sandbox.env, **ON}
    status, output = run_in_terminal([SSOEXEC, "-p", "dev", "--", "true"], env)
    assert status == 0, output
    assert fetches(sandbox) == 1
    socket_file = sandbox.tmp / f"ssoexec-{os.getuid()}" / "agent.sock"
    wait_for(socket_file.exists, what="the agent's socket")
    wait_for(lambda: handed_over(sandbox), what="the hand-off")
    calls = dict(sandbox.emulator.calls)
    warm = sandbox.probe("-p", "dev", env={**ON, **NO_AWS})  # no terminal: uses a running one
    assert dict(sandbox.emulator.calls) == calls
    assert warm["env"]["AWS_ACCESS_KEY_ID"].startswith("ASIA")


def test_doctor_reports_the_agent_and_whether_the_profile_is_warm(sandbox):
    sandbox.login("corp")

    def doctor(env: dict) -> list[str]:
        result = sandbox.run("doctor", "-p", "dev", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if "agent" in line]

    assert doctor(OFF) == [
        "INFO     agent: turned off (SSOEXEC_AGENT=off); every run fetches its own credentials"
    ]
    assert doctor(ON) == ["OK       agent: none running; a cold run at a terminal starts one"]
    pid = start_agent(sandbox)
    lines = doctor(ON)
    assert lines[0] == f"OK       agent: running (pid {pid}), holding 0 answer(s)"
    assert lines[1].endswith("would fetch (the agent keeps the answer)")
    probe(sandbox, "-p", "dev", env=NO_AWS)
    calls = dict(sandbox.emulator.calls)
    assert doctor(ON)[1] == "OK       agent: a run with this profile would be served warm"
    other_region = doctor({**ON, "AWS_REGION": "us-east-2"})[1]
    assert other_region.endswith("would fetch (the agent keeps the answer)")
    assert dict(sandbox.emulator.calls) == calls  # doctor fetched nothing


def test_a_warm_run_execs_the_command_in_its_own_process(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    probe(sandbox, "-p", "dev", env=NO_AWS)
    run = sandbox.start("-p", "dev", "--", PYTHON, PROBE, env={**ON, **NO_AWS})
    stdout, stderr = run.communicate(timeout=60)
    assert (run.returncode, stderr) == (0, "")
    assert json.loads(stdout)["pid"] == run.pid  # exec'd: the command took ssoexec's pid
    assert fetches(sandbox) == 1
    missing = sandbox.run("-p", "dev", "--", "no-such-command-here", env=ON)
    assert missing.returncode == 127 and "command not found" in missing.stderr


CHILDREN = (
    "import os, psutil, time\n"
    "now = len(psutil.Process().children())\n"
    "time.sleep(0.5)\n"
    "print(now, len(psutil.Process().children()))\n"
)


def test_the_hand_off_is_no_child_of_the_command(sandbox):
    """The helper that hands a cold run's credentials over is nobody's child once the run
    became the command: the command cannot reap it by mistake, and no zombie stays."""
    sandbox.login("corp")
    env = {**sandbox.env, **ON}
    status, output = run_in_terminal([SSOEXEC, "-p", "dev", "--", PYTHON, "-c", CHILDREN], env)
    assert status == 0, output
    assert output.split() == ["0", "0"]
    wait_for(lambda: handed_over(sandbox), what="the hand-off")
    probe(sandbox, "-p", "dev", env=NO_AWS)  # warm: what was handed over
    assert fetches(sandbox) == 1


def test_a_nested_run_for_another_profile_is_warm_across_outer_runs(sandbox):
    """What an outer ssoexec sets (its endpoint, expiry, profile name: new with each outer run)
    is not part of the key: a nested run for another profile is served from the first fetch."""
    sandbox.login("corp")
    sandbox.login("https://d-legacy0001.awsapps.com/start")
    start_agent(sandbox)
    nested = ("-p", "dev", "--server", "--", SSOEXEC, "-p", "legacy", "--", "true")
    for _ in range(2):
        result = sandbox.run(*nested, env=ON)
        assert (result.returncode, result.stderr) == (0, "")
    assert fetches(sandbox) == 3  # dev twice (--server fetches its own), legacy once


def test_a_role_named_without_a_profile_is_served_warm(sandbox):
    sandbox.login("corp")
    start_agent(sandbox)
    direct = ("--sso-session", "corp", "--account", "222222222222", "--role", "ReadOnly")
    first = probe(sandbox, *direct)  # the agent fetches it
    assert fetches(sandbox) == 1
    assert "assumed-role/AWSReservedSSO_ReadOnly_" in first["arn"]
    calls = dict(sandbox.emulator.calls)
    warm = probe(sandbox, *direct, env=NO_AWS)
    assert dict(sandbox.emulator.calls) == calls  # no AWS call at all
    assert warm["env"] == first["env"]
    cold = sandbox.probe(*direct, env={**OFF, **NO_AWS})
    assert set(cold["env"]) == set(warm["env"])
    for name, value in warm["env"].items():
        if name not in (*SECRET_OR_EXPIRY, "SSOEXEC_AGENT"):
            assert cold["env"][name] == value, name
    assert warm["env"]["SSOEXEC_PROFILE"] == "corp/222222222222/ReadOnly"
    assert warm["env"]["AWS_REGION"] == "us-east-1"  # the session's sso_region
    dev = probe(sandbox, "-p", "dev", env=NO_AWS)  # a profile is another key
    assert dev["env"]["SSOEXEC_PROFILE"] == "dev"
    assert fetches(sandbox) == 3
    # --account alone asks the portal which role it is: that run goes the cold way, each time.
    only = ("--sso-session", "corp", "--account", "333333333333")
    only_role_in(sandbox, "333333333333", "Developer")
    for _ in range(2):
        probe(sandbox, *only)
    assert sandbox.emulator.calls["ListAccountRoles"] == 2


def test_credential_process_for_a_role_named_without_a_profile_is_warm(sandbox):
    sandbox.login("corp")
    direct = ("--sso-session", "corp", "--account", "222222222222", "--role", "ReadOnly")
    start_agent(sandbox)
    first = sandbox.run("credential-process", *direct, env=ON)  # the agent fetches it
    assert (first.returncode, first.stderr) == (0, "")
    calls = dict(sandbox.emulator.calls)
    warm = sandbox.run("credential-process", *direct, env={**ON, "PYTHONPROFILEIMPORTTIME": "1"})
    assert warm.returncode == 0, warm.stderr
    assert dict(sandbox.emulator.calls) == calls
    assert warm.stdout == first.stdout
    assert json.loads(warm.stdout)["AccountId"] == "222222222222"
    imported = {line.split("|")[-1].strip() for line in warm.stderr.splitlines()}
    assert "ssoexec.agent.client" in imported and "botocore" not in imported
    mixed = sandbox.run("credential-process", "-p", "dev", *direct[2:], env=ON)
    assert mixed.returncode == 2, mixed.stderr  # as the typer app says
    bad = sandbox.run("credential-process", "--sso-session", "corp", "--account", "12", env=ON)
    assert bad.returncode == 2 and "hint:" in bad.stderr
