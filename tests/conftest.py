"""Fixtures: the local AWS emulator, and a sandbox that runs the installed ssoexec script.

The sandbox gives every test its own HOME and TMPDIR and an environment that reaches AWS only
through AWS_ENDPOINT_URL_SSO / _SSO_OIDC / _STS, pointed at the emulator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import spawn
from tests.emulator import Emulator

BIN = Path(sys.executable).parent
SSOEXEC = str(BIN / "ssoexec")
PYTHON = sys.executable
PROBE = str(Path(__file__).parent / "probe.py")
START_URL = "https://d-1234567890.awsapps.com/start"
LEGACY_START_URL = "https://d-legacy0001.awsapps.com/start"

# The AWS CLI's token file: these keys, in this order.
TOKEN_KEYS = [
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
]

CONFIG = f"""\
[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-west-1

[profile legacy]
sso_start_url = {LEGACY_START_URL}
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = ReadOnly
region = us-west-2

[profile chained]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = dev
role_session_name = ssoexec-test
external_id = ext-123
duration_seconds = 3600
region = eu-central-1

[profile chained2]
role_arn = arn:aws:iam::222222222222:role/Auditor
source_profile = chained
"""


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu


def assert_one_error(result, words: str, hint: str, status: int = 125) -> list[str]:
    """A clean failure (SPEC §9): `status`, nothing on stdout, and exactly two lines on
    stderr, the error naming `words` and the hint naming `hint`. Returns the two lines."""
    lines = result.stderr.splitlines()
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: ") and words in lines[0], lines[0]
    assert lines[1].startswith("hint: ") and hint in lines[1], lines[1]
    return lines


class Sandbox:
    """A scratch HOME with an AWS config, and the installed ssoexec run inside it."""

    def __init__(self, root: Path, emulator: Emulator) -> None:
        self.emulator = emulator
        self.home = root / "home"
        self.tmp = root / "tmp"
        self.aws = self.home / ".aws"
        self.config = self.aws / "config"
        self.tmp.mkdir(parents=True)
        self.aws.mkdir(parents=True)
        self.env = {
            "PATH": f"{BIN}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "SHELL": "/bin/sh",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SSOEXEC_AGENT": "off",  # no agent unless a test asks (a pty run would start one)
            **emulator.endpoint_env(),
        }
        self.write_config(CONFIG)

    def write_config(self, text: str) -> None:
        self.config.write_text(text)

    def token_path(self, cache_key: str) -> Path:
        name = hashlib.sha1(cache_key.encode()).hexdigest() + ".json"
        return self.aws / "sso" / "cache" / name

    def login(self, cache_key: str = "corp", **kwargs) -> Path:
        """A token in the AWS CLI cache, as `aws sso login` would leave it."""
        start_url = kwargs.pop(
            "start_url", LEGACY_START_URL if cache_key.startswith("https") else START_URL
        )
        return self.emulator.write_token_cache(self.home, cache_key, start_url=start_url, **kwargs)

    def run(self, *args: str, env: dict | None = None, timeout: float = 60, **kwargs):
        """The installed ssoexec, in a child process (a fork standing in for the script, or
        the script: tests/spawn.py); text output. Like a CI job, it has no terminal: no stdin
        and no controlling terminal (its own session)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("start_new_session", True)
        return spawn.run(
            [SSOEXEC, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def start(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        """The installed ssoexec started as `run` starts it (no terminal, text pipes), for a
        test that acts while it runs."""
        return spawn.popen(
            [SSOEXEC, *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def probe(self, *ssoexec_args: str, env: dict | None = None) -> dict:
        """Run the probe child under ssoexec; its JSON report (the run must succeed)."""
        if not spawn.ALWAYS_SCRIPT:
            from tests import probe_server

            env = {"PROBE_SERVER": probe_server.path(), **(env or {})}
        result = self.run(*ssoexec_args, "--", PYTHON, PROBE, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", result.stderr
        return json.loads(result.stdout)

    def files(self) -> dict[str, bytes]:
        """Every file under HOME and TMPDIR, with its contents and mode."""
        found = {}
        for base in (self.home, self.tmp):
            for path in base.rglob("*"):
                if path.is_file():
                    found[str(path)] = (
                        path.read_bytes() + f"\0mode={path.stat().st_mode:o}".encode()
                    )
        return found

    def assert_no_credentials_on_disk(self, *, expect_some: bool = True) -> None:
        """No role credential (secret key or session token) in any file under HOME or TMPDIR,
        and no ~/.aws/credentials written by ssoexec."""
        secrets = [s.encode() for s in self.emulator.credential_secrets()]
        assert secrets or not expect_some, "the test issued no credentials to look for"
        for path, content in self.files().items():
            for secret in secrets:
                assert secret not in content, f"a credential secret was written to {path}"
        if expect_some:
            assert not (self.aws / "credentials").exists()


def stop_sandbox_agent(box: Sandbox) -> None:
    """Kill the agent a test left running under the sandbox's TMPDIR (by the pid its status
    gives), see it gone, and remove its socket (an agent exits when its socket goes)."""
    from ssoexec.agent import client

    sock = box.tmp / f"ssoexec-{os.getuid()}" / "agent.sock"
    if not sock.exists():
        return
    answer = client.exchange({"op": "status"}, first_byte_timeout=2, path=sock) or {}
    pid = answer.get("pid")
    if isinstance(pid, int) and pid > 1:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: process_gone(pid), what=f"agent {pid} to die of SIGKILL")
    sock.unlink(missing_ok=True)


@pytest.fixture
def sandbox(tmp_path, emulator):
    box = Sandbox(tmp_path, emulator)
    yield box
    stop_sandbox_agent(box)
    # After every test: whatever it did, no role credential reached HOME or TMPDIR.
    box.assert_no_credentials_on_disk(expect_some=False)


def run_in_terminal(argv, env, replies=(), timeout=60):
    """Run argv with a pseudo-terminal as its controlling terminal, stdin, stdout and stderr
    (a person at a terminal); answer each (prompt, reply) in turn. Returns (status, output)."""
    import pty
    import select
    import signal
    import time

    pid, master = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        try:
            if not spawn.ALWAYS_SCRIPT and spawn.forkable(argv, env):
                spawn.become_ssoexec(list(argv), dict(env))
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    pending = list(replies)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output:
                os.write(master, pending.pop(0)[1].encode() + b"\n")
                output += b"\n<replied>\n"
        else:  # still running at the deadline: a hang, never waited for forever
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


class AgentHandle:
    """An agent started in a sandbox with `ssoexec agent start`; asks it things directly."""

    def __init__(self, sandbox: Sandbox, env: dict) -> None:
        from ssoexec.agent.paths import socket_path

        self.sandbox = sandbox
        self.env = {**sandbox.env, **env}
        self.socket = socket_path(self.env) if "XDG_RUNTIME_DIR" in env else self.default_socket()
        result = sandbox.run("agent", "start", env=env)
        assert result.returncode == 0, result.stderr
        self.pid = self.ask({"op": "status"})["pid"]

    def default_socket(self) -> Path:
        return self.sandbox.tmp / f"ssoexec-{os.getuid()}" / "agent.sock"

    def ask(self, request: dict, timeout: float = 60) -> dict | None:
        """client.ask with generous bounds (tests share a busy machine)."""
        from ssoexec.agent import client

        return client.ask(request, first_byte_timeout=10, total_timeout=timeout, path=self.socket)

    def request(self, op: str, profile: str = "dev", region: str | None = None, **extra) -> dict:
        """A get/put/peek request for `profile` as a run in this sandbox would send it."""
        from ssoexec.agent import protocol

        env = {**self.env, **extra.pop("env", {})}
        return {
            "op": op,
            "key": protocol.request_key(profile, region, env),
            "env": protocol.resolution_env(env),
            "profile": profile,
            "region": region,
            **extra,
        }

    def stop(self) -> None:
        """`agent stop`, then SIGKILL if it is still there, and wait until it is gone."""
        stop_agent(self.sandbox, self.pid, env=self.env)


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_for(condition, timeout: float = 30, what: str = "a condition"):
    """Poll `condition` until it is true (returns its value); fail at the deadline."""
    import time

    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def stop_agent(sandbox: Sandbox, pid: int | None, env: dict | None = None) -> None:
    import signal

    sandbox.run("agent", "stop", env=env)
    if pid is not None and not process_gone(pid):
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: process_gone(pid), what=f"agent {pid} to exit")


@pytest.fixture
def agent(sandbox):
    """A running agent in the sandbox (idle exit after 5 minutes), stopped afterwards."""
    handle = AgentHandle(sandbox, {"SSOEXEC_AGENT_IDLE": "300"})
    yield handle
    handle.stop()
