"""The agent against other users: peer uid refused, non-dumpable, core limit 0.

The tests run as root, so "another user" is nobody (65534), run with the system Python (the
test venv lives under root's private home). The agent itself is started by root through the
installed script, except where it must run as nobody to show it is non-dumpable."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ssoexec.agent import protocol
from tests.conftest import AgentHandle, process_gone, wait_for

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not sys.platform.startswith("linux") or not Path(SYSTEM_PYTHON).exists(),
    reason="needs root (to act as another user), Linux's /proc and a system Python",
)

# Connect, send one status request, print what came back (nothing: refused).
ASK = """
import socket, sys
with socket.socket(socket.AF_UNIX) as sock:
    sock.settimeout(10)
    sock.connect(sys.argv[1])
    print("connected", flush=True)
    data = b""
    try:  # a refused connection is closed at once: the send may fail, or the read get nothing
        sock.sendall(b'{"op": "status", "v": "%s"}\\n' % sys.argv[2].encode())
        while chunk := sock.recv(65536):
            data += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    print(repr(data))
"""


def as_user(uid: int | None, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    ids = {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **ids, **kwargs)


@pytest.fixture
def shared_dir():
    """A directory under /tmp that nobody may pass through (pytest's own is root's 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="ssoexec-agent-test-", dir="/tmp"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_another_users_connection_is_refused(sandbox, shared_dir):
    agent = AgentHandle(sandbox, {"XDG_RUNTIME_DIR": str(shared_dir), "SSOEXEC_AGENT_IDLE": "300"})
    try:
        assert agent.socket == shared_dir / "ssoexec" / "agent.sock"
        # The 0700 directory and 0600 socket keep nobody out before the agent hears a thing;
        # opened up here, so that it is the agent's own peer uid check that refuses.
        agent.socket.parent.chmod(0o711)
        agent.socket.chmod(0o666)
        argv = [SYSTEM_PYTHON, "-I", "-c", ASK, str(agent.socket), protocol.PROTOCOL]
        refused = as_user(NOBODY, argv)
        assert refused.returncode == 0, refused.stderr
        assert refused.stdout.splitlines() == ["connected", "b''"]
        answered = as_user(None, argv)  # the same request from the agent's own user
        assert f'"pid":{agent.pid}' in answered.stdout
    finally:
        agent.stop()


@pytest.fixture
def readable_code(shared_dir):
    """A copy of the ssoexec package that nobody can import: the checkout may sit in a
    directory of root's that nobody cannot enter (a 0700 temp dir, /root)."""
    code = shared_dir / "code"
    shutil.copytree(REPO / "ssoexec", code / "ssoexec", ignore=shutil.ignore_patterns("*.pyc"))
    for path in [code, *code.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return code


def test_the_agent_is_not_dumpable(shared_dir, readable_code):
    """Run as nobody, its /proc files belong to root: the kernel's mark of a non-dumpable
    process (a plain process of nobody's has them as nobody's own), which also keeps other
    processes of the user from reading its memory."""
    folder = shared_dir / "ssoexec"
    folder.mkdir(mode=0o700)
    os.chown(folder, NOBODY, NOBODY)
    ready_read, ready_write = os.pipe()
    agent = subprocess.Popen(
        [SYSTEM_PYTHON, "-B", "-m", "ssoexec.agent", str(folder / "agent.sock"), str(ready_write)],
        env={"PYTHONPATH": str(readable_code), "SSOEXEC_AGENT_IDLE": "60"},
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        pass_fds=(ready_write,),
        stderr=subprocess.PIPE,
        cwd="/",
    )
    plain = subprocess.Popen(["sleep", "60"], user=NOBODY, group=NOBODY, extra_groups=[])
    os.close(ready_write)
    try:
        select.select([ready_read], [], [], 30)
        ready = os.read(ready_read, 1)
        assert ready == b"1", agent.stderr.read() if agent.wait(30) is not None else ""
        assert os.stat(f"/proc/{plain.pid}/environ").st_uid == NOBODY  # the control
        assert os.stat(f"/proc/{agent.pid}/environ").st_uid == 0
        assert core_limit(agent.pid) == "0"
    finally:
        os.close(ready_read)
        plain.kill()
        plain.wait()
        agent.terminate()
        agent.wait(30)
    assert agent.returncode == 0  # SIGTERM: a clean stop, its socket removed
    assert not (folder / "agent.sock").exists()


def core_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4]
    raise AssertionError("no core limit line")


def test_the_agent_started_by_the_script_has_core_limit_0(sandbox, agent):
    assert core_limit(agent.pid) == "0"
    os.kill(agent.pid, 15)
    wait_for(lambda: process_gone(agent.pid), what="the agent to stop on SIGTERM")
    assert not agent.socket.exists()
