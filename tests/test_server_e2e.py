"""--server, end to end: a long child fed by the loopback endpoint, real signals, real exit
statuses, and psutil to look for anything left behind."""

import json
import os
import re
import signal
import subprocess
import textwrap
import time
import urllib.error
import urllib.request

import psutil
import pytest

from tests import spawn
from tests.conftest import PROBE, PYTHON, SSOEXEC

# What the JavaScript SDK accepts as Expiration (smithy parseRfc3339DateTime): `Z` only.
JS_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[tT](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?[zZ]$")


def child(code):
    """argv for a Python child running `code`."""
    return [PYTHON, "-c", textwrap.dedent(code)]


def start(sandbox, *args, **kwargs):
    """ssoexec --server in the background, as the leader of its own process group."""
    return spawn.popen(
        [SSOEXEC, *args],
        kwargs.pop("env", sandbox.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def wait_for_file(path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def keys_seen_by_sts(emulator):
    """The access key of every GetCallerIdentity the emulator answered, in order."""
    keys = []
    for request in emulator.requests:
        if request["api"] == "GetCallerIdentity":
            match = re.search(r"Credential=(\w+)/", request["headers"].get("authorization", ""))
            keys.append(match.group(1))
    return keys


def wait_until(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_long_child_keeps_valid_credentials(sandbox):
    """Role credentials that live 15 min 2 s: each may be handed out for 2 s only, so over
    a few seconds the server must replace them, and every call must still succeed. (The
    schedule itself, for any lifetime, is test_server_refresher.py's.)"""
    sandbox.login("corp")
    sandbox.emulator.credential_lifetime = 15 * 60 + 2
    started = time.monotonic()
    result = sandbox.run(
        "-p",
        "dev",
        "--server",
        "--",
        PYTHON,
        PROBE,
        env={"PROBE_CALLS": "8", "PROBE_INTERVAL": "0.5"},
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert len(report["identities"]) == 8
    assert all(i["account"] == "111111111111" for i in report["identities"])
    assert "AWS_ACCESS_KEY_ID" not in report["env"]  # never both kinds
    assert report["env"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    keys = keys_seen_by_sts(sandbox.emulator)
    fetched = sandbox.emulator.calls["GetRoleCredentials"]
    print(
        f"\n--server refresh: {len(keys)} STS calls in {elapsed:.1f} s, {len(set(keys))} "
        f"distinct keys, {fetched} GetRoleCredentials"
    )
    assert len(set(keys)) >= 2
    sandbox.assert_no_credentials_on_disk()


# Calls STS through the endpoint every 0.1 s until the file argv[1] exists; prints how many
# calls it made and whether all of them worked.
CALL_UNTIL_TOLD = """
    import json, os, sys, time, boto3
    stop = sys.argv[1]
    client = boto3.client("sts")
    calls = 0
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        client.get_caller_identity()
        calls += 1
        time.sleep(0.1)
    print(json.dumps({"calls": calls, "told": os.path.exists(stop)}))
"""


def test_refresh_failure_keeps_serving_and_recovers(sandbox, tmp_path):
    """An outage of GetRoleCredentials that outlasts two refresh attempts: the child's calls
    keep working on the last good credentials, the failure is said once, the recovery too,
    and the child gets new credentials after it. (Backoff and expiry: test_server_refresher.)"""
    sandbox.login("corp")
    sandbox.emulator.credential_lifetime = 15 * 60 + 2  # a refresh every second
    stop, err_path = tmp_path / "stop", tmp_path / "stderr"
    with err_path.open("w") as err_file:
        proc = spawn.popen(
            [SSOEXEC, "-p", "dev", "--server", "--", *child(CALL_UNTIL_TOLD), str(stop)],
            {**sandbox.env, "AWS_MAX_ATTEMPTS": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            start_new_session=True,
        )
        try:
            calls = sandbox.emulator.calls
            wait_until(lambda: calls["GetRoleCredentials"] >= 1, what="the first fetch")
            sandbox.emulator.fail("GetRoleCredentials", 500, times=1000)
            outage_from = calls["GetCallerIdentity"]
            wait_until(lambda: calls["GetRoleCredentials"] >= 3, what="two failed refreshes")
            wait_until(lambda: calls["GetCallerIdentity"] >= outage_from + 3, what="calls")
            sandbox.emulator.clear_faults()
            wait_until(lambda: "works again" in err_path.read_text(), what="the recovery")
            recovered_at = len(keys_seen_by_sts(sandbox.emulator))
            wait_until(
                lambda: len(keys_seen_by_sts(sandbox.emulator)) >= recovered_at + 3, what="calls"
            )
            stop.touch()
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    err = err_path.read_text()
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["told"] and report["calls"] >= 6  # every call worked, during the outage too
    failures = [line for line in err.splitlines() if "could not refresh" in line]
    assert len(failures) == 1, err  # reported once
    assert "credential refresh works again" in err
    keys = keys_seen_by_sts(sandbox.emulator)
    assert keys[-1] not in keys[:outage_from]  # a new key after the recovery


def test_endpoint_contract(sandbox, tmp_path):
    """The JSON shape the SDKs parse; 401 without the token; 404 elsewhere; loopback only;
    gone once the child has exited."""
    sandbox.login("corp")
    code = """
        import json, os, urllib.request, urllib.error
        uri = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        def get(url, auth):
            request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, None
        base = uri.rsplit("/", 1)[0]
        print(json.dumps({
            "uri": uri, "token": token,
            "ok": get(uri, token), "wrong": get(uri, token[:-1] + "x"), "none": get(uri, None),
            "other_path": get(base + "/other", token), "root": get(base + "/", token),
        }))
    """
    result = sandbox.run("-p", "dev", "--server", "--", *child(code))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    status, document = seen["ok"]
    assert status == 200
    assert set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}
    assert all(isinstance(value, str) and value for value in document.values())
    assert JS_RFC3339.match(document["Expiration"])
    assert document["AccountId"] == "111111111111"
    assert seen["wrong"][0] == seen["none"][0] == 401
    assert seen["other_path"][0] == seen["root"][0] == 404
    assert len(seen["token"]) >= 43  # 256 bits, base64url
    with pytest.raises(urllib.error.URLError):  # the endpoint is gone with the child
        urllib.request.urlopen(seen["uri"], timeout=5)


def test_listens_on_loopback_only_and_keeps_secrets_out_of_argv(sandbox, tmp_path):
    sandbox.login("corp")
    ready = tmp_path / "ready"
    proc = start(
        sandbox,
        "-p",
        "dev",
        "--server",
        "--",
        *child(f"""
        import os, time
        open({str(ready)!r}, "w").write(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        time.sleep(30)
    """),
    )
    token = wait_for_file(ready)
    try:
        ssoexec = psutil.Process(proc.pid)
        listening = [
            c.laddr for c in ssoexec.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(address.ip == "127.0.0.1" for address in listening)
        for process in [ssoexec, *ssoexec.children(recursive=True)]:
            argv = " ".join(process.cmdline())
            assert token not in argv
            for secret in sandbox.emulator.credential_secrets():
                assert secret not in argv
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sandbox.assert_no_credentials_on_disk()


TRAP = """
    import os, signal, sys, time
    log, name = sys.argv[1], sys.argv[2]
    def received(signum, frame):
        with open(log, "a") as out:
            out.write(signal.Signals(signum).name + "\\n")
    signal.signal(getattr(signal, name), received)
    open(log + ".ready", "w").write(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not os.path.exists(log) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1)  # long enough for a repeated signal to show in the log
    # after the signal, die of it as an untrapped process would
    signal.signal(getattr(signal, name), signal.SIG_DFL)
    if os.path.exists(log):
        os.kill(os.getpid(), getattr(signal, name))
    sys.exit(0)
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"])
def test_signals_to_ssoexec_reach_the_child_once(sandbox, tmp_path, name):
    sandbox.login("corp")
    log = tmp_path / "signals"
    proc = start(sandbox, "-p", "dev", "--server", "--", *child(TRAP), str(log), name)
    child_pid = int(wait_for_file(tmp_path / "signals.ready"))
    assert psutil.Process(child_pid).ppid() == proc.pid
    proc.send_signal(getattr(signal, name))  # to ssoexec alone
    proc.wait(timeout=30)
    assert log.read_text().splitlines() == [name]
    assert proc.returncode == 128 + getattr(signal, name)  # e.g. 143 for SIGTERM
    assert not psutil.pid_exists(child_pid)  # waited for, nothing left behind


@pytest.mark.parametrize("name", ["SIGINT", "SIGQUIT"])
def test_ctrl_c_to_the_process_group_reaches_the_child_once(sandbox, tmp_path, name):
    """A terminal sends Ctrl-C to the whole foreground group: ssoexec must not repeat it, and
    must stay to wait for the child's cleanup, then pass its status on."""
    sandbox.login("corp")
    log = tmp_path / "signals"
    cleanup = """
        import os, signal, sys, time
        log = sys.argv[1]
        def received(signum, frame):
            with open(log, "a") as out:
                out.write(signal.Signals(signum).name + "\\n")
        signal.signal(signal.SIGINT, received)
        signal.signal(signal.SIGQUIT, received)
        open(log + ".ready", "w").write(str(os.getpid()))
        time.sleep(0.5)  # the cleanup a careful tool does after Ctrl-C
        with open(log, "a") as out:
            out.write("cleaned up\\n")
        sys.exit(5)
    """
    proc = start(sandbox, "-p", "dev", "--server", "--", *child(cleanup), str(log))
    child_pid = int(wait_for_file(tmp_path / "signals.ready"))
    os.killpg(proc.pid, getattr(signal, name))
    assert proc.wait(timeout=30) == 5
    assert log.read_text().splitlines() == [name, "cleaned up"]
    assert not psutil.pid_exists(child_pid)


@pytest.mark.parametrize("status", [0, 3, 255])
def test_exit_status_passes_through(sandbox, status):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--server", "--", "sh", "-c", f"exit {status}")
    assert result.returncode == status
    assert result.stdout == result.stderr == ""


def test_child_killed_by_a_signal_gives_128_plus_n(sandbox):
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--server", "--", "sh", "-c", "kill -KILL $$")
    assert result.returncode == 128 + 9


def test_command_not_found_and_not_executable(sandbox):
    sandbox.login("corp")
    assert sandbox.run("-p", "dev", "--server", "--", "no-such-command").returncode == 127
    assert sandbox.run("-p", "dev", "--server", "--", "/etc/hostname").returncode == 126


def test_server_under_make_with_stdin_closed(sandbox, tmp_path):
    sandbox.login("corp")
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"probe:\n\t{SSOEXEC} -p dev --server -- {PYTHON} {PROBE}\n")
    result = subprocess.run(
        ["make", "-s", "-f", str(makefile), "probe"],
        env=sandbox.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["account"] == "111111111111"


def test_server_from_the_environment_variable(sandbox):
    sandbox.login("corp")
    report = sandbox.probe("-p", "dev", env={"SSOEXEC_SERVER": "1"})
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in report["env"]


def test_nested_run_shares_the_endpoint(sandbox):
    sandbox.login("corp")
    report = sandbox.probe("-p", "dev", "--server", "--", SSOEXEC, "-p", "dev")
    assert report["account"] == "111111111111"
    assert "AWS_ACCESS_KEY_ID" not in report["env"]
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1


def test_role_chain_is_served_and_refreshed(sandbox):
    sandbox.login("corp")
    sandbox.emulator.external_ids["arn:aws:iam::333333333333:role/Deployer"] = "ext-123"
    sandbox.emulator.credential_lifetime = 15 * 60 + 2
    result = sandbox.run(
        "-p",
        "chained",
        "--server",
        "--",
        PYTHON,
        PROBE,
        env={"PROBE_CALLS": "6", "PROBE_INTERVAL": "0.5"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    identities = json.loads(result.stdout)["identities"]
    assert {i["account"] for i in identities} == {"333333333333"}
    assert sandbox.emulator.calls["AssumeRole"] >= 2
