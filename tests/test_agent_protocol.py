"""The agent's wire format, request key and directory checks: pure parts and real files."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from datetime import datetime, timezone

import pytest

from ssoexec.agent import client, paths, protocol
from ssoexec.environment import RoleCredentials


def test_resolution_env_keeps_what_resolution_reads_and_no_credential():
    environ = {
        "AWS_CONFIG_FILE": "/c",
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_SECURITY_TOKEN": "token",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/t",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:2/x",  # an outer ssoexec's
        "AWS_CREDENTIAL_EXPIRATION": "2026-11-30T10:00:00Z",
        "SSOEXEC_EXPIRATION": "2026-11-30T10:00:00Z",
        "SSOEXEC_PROFILE": "outer",
        "SSOEXEC_LOGIN": "never",
        "HOME": "/h",
        "PATH": "/bin",
        "https_proxy": "http://proxy",
        "NO_PROXY": "localhost",
        "REQUESTS_CA_BUNDLE": "/ca",
        "LANG": "C",
        "EDITOR": "vi",
    }
    assert protocol.resolution_env(environ) == {
        "AWS_CONFIG_FILE": "/c",
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
        "SSOEXEC_LOGIN": "never",
        "HOME": "/h",
        "PATH": "/bin",
        "https_proxy": "http://proxy",
        "NO_PROXY": "localhost",
        "REQUESTS_CA_BUNDLE": "/ca",
    }


def test_the_key_changes_with_everything_that_changes_the_answer(tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile dev]\n")
    env = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(config), "PATH": "/bin"}
    key = protocol.request_key("dev", None, env)
    assert key == protocol.request_key("dev", None, {**env, "LANG": "C", "AWS_SESSION_TOKEN": "x"})
    others = {
        protocol.request_key("prod", None, env),
        protocol.request_key("dev", "eu-west-1", env),
        protocol.request_key("dev", None, {**env, "AWS_REGION": "eu-west-1"}),
        protocol.request_key("dev", None, {**env, "PATH": "/usr/bin"}),
        protocol.request_key("dev", None, {**env, "AWS_ENDPOINT_URL_SSO": "http://x"}),
        protocol.request_key("dev", None, {**env, "AWS_CONFIG_FILE": str(tmp_path / "other")}),
    }
    assert key not in others and len(others) == 6
    config.write_text("[profile dev]\nsso_role_name = Other\n")
    assert protocol.request_key("dev", None, env) != key
    edited = protocol.request_key("dev", None, env)
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[dev]\n")  # the default credentials file
    assert protocol.request_key("dev", None, env) != edited


def test_messages_are_one_line_with_the_version_and_bounded():
    line = protocol.encode({"op": "status"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == {"op": "status", "v": protocol.PROTOCOL}
    assert protocol.decode(b"[1]") is None
    assert protocol.decode(b"\xff{") is None
    with pytest.raises(ValueError):
        protocol.encode({"op": "get", "env": {"X": "y" * protocol.MAX_LINE}})


def test_credentials_travel_whole():
    credentials = RoleCredentials(
        "ASIA1", "secret", "token", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "1234"
    )
    wire = protocol.credentials_to_wire(credentials)
    assert wire["Expiration"] == "2030-01-02T03:04:05Z"
    assert protocol.credentials_from_wire(wire) == credentials
    assert protocol.credentials_from_wire({"AccessKeyId": "A"}) is None
    assert protocol.credentials_from_wire({**wire, "Expiration": "soon"}) is None
    assert protocol.credentials_from_wire("text") is None


def test_the_directory_is_under_xdg_runtime_dir_else_the_temp_dir(tmp_path, monkeypatch):
    assert paths.agent_dir({"XDG_RUNTIME_DIR": "/run/user/7"}) == paths.Path("/run/user/7/ssoexec")
    uid = os.getuid()
    assert paths.agent_dir({"TMPDIR": "/x/tmp"}) == paths.Path(f"/x/tmp/ssoexec-{uid}")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches its answer
    assert paths.agent_dir({"XDG_RUNTIME_DIR": "relative"}) == tmp_path / f"ssoexec-{uid}"
    assert paths.socket_path({"TMPDIR": "relative"}) == tmp_path / f"ssoexec-{uid}" / "agent.sock"


def test_make_dir_makes_it_0700_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        made = paths.make_dir(tmp_path / "agent")
    finally:
        os.umask(old)
    assert os.stat(made).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", [0o770, 0o701, 0o755, 0o707])
def test_a_directory_open_to_others_is_refused(tmp_path, mode):
    folder = tmp_path / "agent"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(paths.AgentDirError, match="open to other users"):
        paths.make_dir(folder)
    assert os.stat(folder).st_mode & 0o777 == mode  # refused, never "fixed"


def test_a_symlinked_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "agent").symlink_to(real)
    with pytest.raises(paths.AgentDirError, match="symlink"):
        paths.make_dir(tmp_path / "agent")


def test_a_directory_of_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory away")
    folder = tmp_path / "agent"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(paths.AgentDirError, match="another user"):
        paths.make_dir(folder)


def test_a_file_in_its_place_is_refused(tmp_path):
    (tmp_path / "agent").write_text("")
    with pytest.raises(paths.AgentDirError, match="not a directory"):
        paths.check_dir(tmp_path / "agent")


def test_ask_is_none_without_an_agent(tmp_path):
    assert client.ask({"op": "status"}, path=tmp_path / "none.sock") is None
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))  # bound, never listening: ECONNREFUSED, as a dead agent's
    assert client.ask({"op": "status"}, path=stale) is None


def serve_once(path, answer: bytes):
    """A one-connection server on `path` that reads a line and writes `answer` (or nothing)."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    done = threading.Event()

    def run():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            if answer:
                conn.sendall(answer)
            done.wait(10)
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # accepts, never answers: the first-byte timeout
        b"not json\n",
        b'{"ok": true, "v": "0.0.0/0"}\n',  # another version
        b'{"ok": true, "v": "' + protocol.PROTOCOL.encode() + b'"',  # no newline, then nothing
        b"x" * (protocol.MAX_LINE + 10),
    ],
    ids=["silent", "garbage", "other-version", "unfinished", "oversize"],
)
def test_ask_is_none_on_any_bad_answer(tmp_path, answer):
    done = serve_once(tmp_path / "a.sock", answer)
    try:
        assert client.ask({"op": "status"}, path=tmp_path / "a.sock", total_timeout=5) is None
    finally:
        done.set()


def test_ask_waits_after_wait_and_reads_the_answer(tmp_path):
    good = protocol.encode({"wait": True}) + protocol.encode({"ok": True})
    done = serve_once(tmp_path / "a.sock", good)
    try:
        assert client.ask({"op": "get"}, path=tmp_path / "a.sock") == {
            "ok": True,
            "v": protocol.PROTOCOL,
        }
    finally:
        done.set()


def test_the_client_and_the_agent_process_load_nothing_heavy():
    """The warm path imports client/protocol/paths before anything else; the agent process
    stays small. Neither may pull in botocore, typer (click, rich) or psutil."""
    import subprocess

    code = (
        "import sys, ssoexec.agent.client, ssoexec.agent.server, ssoexec.agent.control; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'botocore', 'boto3', 'typer', 'click', 'rich', 'psutil', 'urllib3'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("seconds_since", "fresh", "due"),
    [
        (0, True, False),
        (700, True, False),
        (720, True, True),
        (900, True, True),
        (901, False, True),
    ],
)
def test_served_while_three_quarters_of_the_lifetime_is_left(seconds_since, fresh, due):
    """An hour's credentials: refreshed ahead from minute 12, handed out until minute 15."""
    from ssoexec.agent.store import Entry

    entry = Entry(
        profile="dev",
        region=None,
        env={},
        credentials={},
        profile_region=None,
        token_file=None,
        token_identity=None,
        got_at=1000.0,
        expires=4600.0,
        last_used=1000.0,
    )
    assert entry.fresh(1000.0 + seconds_since) is fresh
    assert entry.due(1000.0 + seconds_since) is due
    assert not entry.fresh(4600.0)


def test_no_agent_on_windows(monkeypatch, tmp_path):
    """There, every run goes the cold way: the client asks nothing, and start says why."""
    from ssoexec.agent import control
    from ssoexec.errors import SsoexecError

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(socket, "AF_UNIX")
    assert client.ask({"op": "status"}, path=tmp_path / "agent.sock") is None
    with pytest.raises(SsoexecError, match="does not run on Windows"):
        control.start()
