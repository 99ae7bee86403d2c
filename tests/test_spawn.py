"""The fork that stands in for the installed script (tests/spawn.py) must be indistinguishable
from it to the command and to the caller: checked here by running the same things both ways."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests import probe_server, spawn
from tests.conftest import LEGACY_START_URL, PYTHON, SSOEXEC, wait_for

# What the command inherits that an interpreter start or an exec decides.
REPORT = """
import json, os, signal, sys
print(json.dumps({
    "argv": sys.argv[1:],
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "umask": os.umask(0o22),
    "sid": os.getsid(0) == os.getpid(),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "signals": {s.name: str(signal.getsignal(s)) for s in signal.Signals
                if s not in (signal.SIGKILL, signal.SIGSTOP)},
    "mask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
}, sort_keys=True))
"""


def both_ways(sandbox, *args, **kwargs):
    """(the fork's result, the script's result) of the same start."""
    env = sandbox.env
    assert spawn.forkable([SSOEXEC], env)
    kwargs = {"capture_output": True, "text": True, "timeout": 60, **kwargs}
    kwargs.update(stdin=subprocess.DEVNULL, start_new_session=True)
    forked = spawn.run([SSOEXEC, *args], env, fork=True, **kwargs)
    script = spawn.run([SSOEXEC, *args], env, fork=False, **kwargs)
    return forked, script


def test_the_command_inherits_the_same_process_state(sandbox, tmp_path):
    sandbox.login("corp")
    forked, script = both_ways(
        sandbox, "-p", "dev", "--", PYTHON, "-c", REPORT, "x y", cwd=tmp_path
    )
    assert forked.returncode == script.returncode == 0, (forked.stderr, script.stderr)
    assert forked.stderr == script.stderr == ""
    one, other = json.loads(forked.stdout), json.loads(script.stdout)
    assert one["env"].keys() == other["env"].keys()
    for name in list(one["env"]):  # fetched twice: other keys, and expiry a second apart
        if name.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_SESSION")) or "EXPIRATION" in name:
            del one["env"][name], other["env"][name]
    assert one == other
    assert one["argv"] == ["x y"] and one["sid"] and one["fds"] == [0, 1, 2, 3]  # 3: listdir
    # What the command inherits before any interpreter of its own sets things: grep's.
    forked, script = both_ways(sandbox, "-p", "dev", "--", "grep", "^Sig", "/proc/self/status")
    assert forked.stdout == script.stdout and "SigIgn:" in forked.stdout
    ignored = int(forked.stdout.split("SigIgn:")[1].split()[0], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))  # ssoexec gives SIGPIPE back


def test_exit_status_and_output_of_an_error_and_of_a_subcommand_match(sandbox):
    for args in (
        ["-p", "nosuch", "--", "true"],
        ["--version"],
        ["doctor", "-p", "dev"],
        ["export", "-p", "dev", "--format", "json"],
        ["login", "--bogus"],
    ):
        forked, script = both_ways(sandbox, *args)
        assert (forked.returncode, forked.stderr) == (script.returncode, script.stderr), args
        if args[0] != "export":  # export prints keys, fetched anew each time
            assert forked.stdout == script.stdout, args


def forked_popen(argv, env, **kwargs):
    return spawn.popen(argv, env, fork=True, **kwargs)


def script_popen(argv, env, **kwargs):
    return spawn.popen(argv, env, fork=False, **kwargs)


def test_a_broken_stdout_and_a_signal_end_it_as_they_end_the_script(sandbox):
    sandbox.login("corp")
    results = []
    for start in (forked_popen, script_popen):
        process = start(
            [SSOEXEC, "--help"],
            sandbox.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        process.stdout.close()  # the reader went away: the help text meets EPIPE
        results.append((process.wait(timeout=60), process.stderr.read()))
        process.stderr.close()
    assert results[0] == results[1]
    results = []
    for start in (forked_popen, script_popen):
        process = start(
            [SSOEXEC, "-p", "dev", "--", "sleep", "30"],
            sandbox.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        comm = Path(f"/proc/{process.pid}/comm")
        wait_for(lambda c=comm: c.read_text().strip() == "sleep", what="the exec of sleep")
        process.send_signal(signal.SIGTERM)
        results.append(process.wait(timeout=60))
    assert results == [-signal.SIGTERM, -signal.SIGTERM]


def test_what_a_fork_cannot_be_goes_to_the_script():
    env = {"PATH": "/bin", "LANG": "C.UTF-8"}
    assert spawn.forkable([SSOEXEC, "-p", "x"], env)
    assert not spawn.forkable([SSOEXEC], {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert not spawn.forkable([SSOEXEC], {**env, "LANG": "C"})
    assert not spawn.forkable([PYTHON, "-c", "pass"], env)


def test_the_probe_server_answers_as_boto3_in_the_probe_would(sandbox):
    """probe.py's STS calls made by the probe server (a fork with boto3 loaded, given the
    probe's environment) name the identity boto3 in the probe itself names."""
    sandbox.login("corp")
    for profile in ("dev", "chained", "legacy"):
        if profile == "legacy":
            sandbox.login(LEGACY_START_URL)
        served = sandbox.probe("-p", profile, env={"PROBE_SERVER": probe_server.path()})
        own = sandbox.probe("-p", profile, env={"PROBE_SERVER": ""})  # boto3 in the probe
        assert served["arn"] == own["arn"] and served["account"] == own["account"], profile
        assert served["env"].keys() == own["env"].keys()
