"""The runs' side of the agent, against listeners that are not a working agent: whatever sits
at the agent's socket (nothing, a stale file, a listener that never answers, garbage, another
version, a planted agent in an open directory), a run goes the cold way, quietly, and the
hand-off after it never holds the command's streams or changes its exit status."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from ssoexec.agent import protocol
from tests.conftest import PROBE, PYTHON, wait_for

ON = {"SSOEXEC_AGENT": ""}  # the sandbox turns the agent off by default
DEV_ARN = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_"
FAKE = {
    "AccessKeyId": "ASIAPLANTEDPLANTED01",
    "SecretAccessKey": "planted-secret",
    "SessionToken": "planted-token",
    "Expiration": "2099-01-01T00:00:00Z",
}


def agent_socket(sandbox, mode: int = 0o700) -> Path:
    """Where the run looks for the agent: under the sandbox's TMPDIR (no XDG_RUNTIME_DIR)."""
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(mode)
    return folder / "agent.sock"


class FakeAgent:
    """A listener of the test's own at the agent's socket. `answer`: None (read the request,
    then never answer and keep the connection open) or the bytes to answer with."""

    def __init__(self, path: Path, answer: bytes | None = None) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        self.open_connections: set[int] = set()
        self.put_received = threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while b"\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            request = json.loads(buffer.partition(b"\n")[0])
            self.requests.append(request)
            if request.get("op") == "put":
                self.put_received.set()
            if self.answer is not None:
                with contextlib.suppress(OSError):  # the client may have given up already
                    conn.sendall(self.answer)
                return
            self.open_connections.add(id(conn))
            try:
                while conn.recv(65536):  # hold it until the client closes its end
                    pass
            except OSError:
                pass
            self.open_connections.discard(id(conn))

    def ops(self) -> list[str]:
        return [r.get("op") for r in self.requests]

    def close(self) -> None:
        self.stopping = True
        self.listener.close()


@pytest.fixture
def fake_agent(sandbox):
    made = []

    def make(answer: bytes | None = None, mode: int = 0o700) -> FakeAgent:
        made.append(FakeAgent(agent_socket(sandbox, mode), answer))
        return made[-1]

    yield make
    for agent in made:
        agent.close()


def assert_cold_run(sandbox, result) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["arn"].startswith(DEV_ARN)
    assert report["env"]["AWS_ACCESS_KEY_ID"] != FAKE["AccessKeyId"]
    assert sandbox.emulator.calls["GetRoleCredentials"] == 1


def test_no_socket_is_a_cold_run(sandbox):
    sandbox.login("corp")
    assert_cold_run(sandbox, sandbox.run("-p", "dev", "--", PYTHON, PROBE, env=ON))


def test_agent_off_asks_nothing(sandbox, fake_agent):
    agent = fake_agent(protocol.encode({"ok": True, "credentials": FAKE}))
    sandbox.login("corp")
    result = sandbox.run("-p", "dev", "--", PYTHON, PROBE, env={"SSOEXEC_AGENT": "off"})
    assert_cold_run(sandbox, result)
    assert agent.ops() == []


def test_a_stale_socket_costs_a_cold_run_and_no_error(sandbox):
    path = agent_socket(sandbox)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # the file of an agent that died: nobody listens
    dead.close()
    sandbox.login("corp")
    assert_cold_run(sandbox, sandbox.run("-p", "dev", "--", PYTHON, PROBE, env=ON))


@pytest.mark.parametrize(
    "answer",
    [
        b"\x1b]0;owned\x07 not json\n",
        b'{"ok": true, "credentials": "no"}\n',
        b'{"ok": true, "credentials": {"AccessKeyId": 5}, "v": "%s"}\n'
        % protocol.PROTOCOL.encode(),
        json.dumps({"ok": True, "credentials": FAKE, "v": "0.0.1/1"}).encode() + b"\n",
        protocol.encode({"ok": True, "credentials": FAKE, "profile_region": "\x1b[2J"}),
        b"x" * (protocol.MAX_LINE + 10),
        b"",
    ],
    ids=["garbage", "bad-shape", "bad-field", "other-version", "bad-region", "oversize", "eof"],
)
def test_a_wrong_answer_costs_a_cold_run_and_no_error(sandbox, fake_agent, answer):
    agent = fake_agent(answer)
    sandbox.login("corp")
    assert_cold_run(sandbox, sandbox.run("-p", "dev", "--", PYTHON, PROBE, env=ON))
    assert agent.ops()[0] == "get"


def test_an_agent_of_another_version_is_asked_to_stop(sandbox, fake_agent):
    """After an upgrade: the run goes cold, and the hand-off, finding the old agent, asks it
    to stop (with nobody there to start a new one, that is all it does)."""
    other = json.dumps({"ok": True, "credentials": FAKE, "pid": 1, "v": "0.0.1/1"}) + "\n"
    agent = fake_agent(other.encode())
    sandbox.login("corp")
    assert_cold_run(sandbox, sandbox.run("-p", "dev", "--", PYTHON, PROBE, env=ON))
    wait_for(lambda: "stop" in agent.ops(), what="the stop")
    assert agent.ops() == ["get", "put", "status", "stop"]


def test_a_wrong_answer_to_credential_process_costs_a_cold_one(sandbox, fake_agent):
    agent = fake_agent(b"garbage\n")
    sandbox.login("corp")
    result = sandbox.run("credential-process", "-p", "dev", env=ON)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output = json.loads(result.stdout)
    assert output["Version"] == 1 and output["AccountId"] == "111111111111"
    assert output["AccessKeyId"] != FAKE["AccessKeyId"]
    assert agent.ops() == ["get"]  # asked, and no hand-off from credential-process


def test_a_planted_agent_in_an_open_directory_is_never_asked(sandbox, fake_agent):
    agent = fake_agent(protocol.encode({"ok": True, "credentials": FAKE}), mode=0o777)
    sandbox.login("corp")
    assert_cold_run(sandbox, sandbox.run("-p", "dev", "--", PYTHON, PROBE, env=ON))
    assert agent.ops() == []  # neither asked nor handed the fetched credentials


def test_a_silent_agent_costs_a_cold_run_and_the_hand_off_holds_no_stream(sandbox, fake_agent):
    """An agent that accepts and never answers: the run goes cold at once, hands over in the
    background (the put stays unanswered), and the command's output, errors and exit status
    are its own; the run's pipes close when the command ends, not when the hand-off does."""
    agent = fake_agent(answer=None)
    sandbox.login("corp")
    marker = sandbox.tmp / "put-arrived"
    wait_for_put = (
        "import os, sys, time\n"
        "deadline = time.monotonic() + 30\n"
        f"while not os.path.exists({str(marker)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print('out'); print('err', file=sys.stderr); sys.exit(7)\n"
    )
    threading.Thread(
        target=lambda: agent.put_received.wait(30) and marker.touch(), daemon=True
    ).start()
    started = time.monotonic()
    result = sandbox.run("-p", "dev", "--", PYTHON, "-c", wait_for_put, env=ON)
    assert (result.returncode, result.stdout, result.stderr) == (7, "out\n", "err\n")
    assert agent.ops() == ["get", "put"]
    assert len(agent.open_connections) == 1, "the hand-off gave up before the run ended"
    assert time.monotonic() - started < 30  # does not hang on the unanswered put
    put = agent.requests[1]
    assert put["profile"] == "dev" and put["region"] is None
    assert put["profile_region"] == "eu-west-1"
    assert put["token_file"] == str(sandbox.token_path("corp"))
    assert put["key"] == agent.requests[0]["key"]
    assert put["credentials"]["AccountId"] == "111111111111"
    assert "AWS_ACCESS_KEY_ID" not in put["env"] and put["env"]["SSOEXEC_AGENT"] == ""


def test_the_agent_directory_modes_refused_by_the_client(tmp_path, monkeypatch):
    """The client believes only a 0700 directory of the user's own that is no symlink."""
    from ssoexec.agent import warm

    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(real / "agent.sock"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    try:
        (tmp_path / "ssoexec").symlink_to(real)
        assert warm.trusted_socket() is None
        (tmp_path / "ssoexec").unlink()
        real.rename(tmp_path / "ssoexec")
        assert warm.trusted_socket() == tmp_path / "ssoexec" / "agent.sock"
        (tmp_path / "ssoexec").chmod(0o750)
        assert warm.trusted_socket() is None
        assert stat.S_IMODE((tmp_path / "ssoexec").stat().st_mode) == 0o750
    finally:
        sock.close()
