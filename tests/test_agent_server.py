"""The agent process end to end: started with the installed `ssoexec agent start` in a sandbox,
asked through client.ask (the warm path's own function), fetching from the emulator."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from ssoexec.agent import protocol
from tests.conftest import SSOEXEC, process_gone, wait_for


def raw_lines(path, request: dict, count: int = 2, timeout: float = 60) -> list[dict]:
    """Every line the agent writes for `request` (up to `count`), read on a plain socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(protocol.encode(request))
        data = b""
        while data.count(b"\n") < count and (chunk := sock.recv(65536)):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_a_get_fetches_once_and_the_next_get_is_served_from_memory(sandbox, emulator, agent):
    token_file = sandbox.login()
    first = agent.ask(agent.request("get"))
    assert first["ok"] is True, first
    assert first["profile_region"] == "eu-west-1"
    issued = emulator.credential(first["credentials"]["AccessKeyId"])
    assert (issued.account_id, issued.role_name) == ("111111111111", "Admin")
    assert emulator.calls["GetRoleCredentials"] == 1
    second = agent.ask(agent.request("get"))
    assert second == first
    assert emulator.calls["GetRoleCredentials"] == 1
    assert agent.ask(agent.request("peek")) == {"ok": True, "warm": True, "v": protocol.PROTOCOL}
    # the fetch child was told where the token lives, so a change there can be noticed
    assert token_file.exists()


def test_the_first_answer_to_a_miss_is_wait_then_the_credentials(sandbox, agent):
    sandbox.login()
    lines = raw_lines(agent.socket, agent.request("get"))
    assert lines[0] == {"wait": True, "v": protocol.PROTOCOL}
    assert lines[1]["ok"] is True and lines[1]["credentials"]["SessionToken"]


def test_32_parallel_gets_for_one_key_make_one_fetch(sandbox, emulator, agent):
    sandbox.login()
    request = agent.request("get")
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda _: agent.ask(request), range(32)))
    assert all(a and a["ok"] for a in answers), answers
    assert len({a["credentials"]["AccessKeyId"] for a in answers}) == 1
    assert emulator.calls["GetRoleCredentials"] == 1


def test_what_is_put_is_served_with_no_aws_call(sandbox, emulator, agent):
    credentials = {
        "AccessKeyId": "ASIAPUT",
        "SecretAccessKey": "put-secret",
        "SessionToken": "put-token",
        "Expiration": "2099-01-01T00:00:00Z",
        "AccountId": "111111111111",
    }
    put = agent.request("put", credentials=credentials, profile_region="eu-west-1")
    assert agent.ask({**put, "token_file": None})["ok"] is True
    answer = agent.ask(agent.request("get"))
    assert answer["credentials"] == credentials
    assert answer["profile_region"] == "eu-west-1"
    assert emulator.calls["GetRoleCredentials"] == 0


def test_each_key_has_its_own_answer(sandbox, emulator, agent):
    """The profile, --region and the config file's edits each make another key."""
    sandbox.login()
    dev = agent.ask(agent.request("get"))["credentials"]
    chained = agent.ask(agent.request("get", profile="chained"))["credentials"]
    assert emulator.credential(chained["AccessKeyId"]).account_id == "333333333333"
    sandbox.write_config(
        sandbox.config.read_text().replace("sso_role_name = Admin", "sso_role_name = ReadOnly")
    )
    edited = agent.ask(agent.request("get"))["credentials"]
    assert edited["AccessKeyId"] != dev["AccessKeyId"]
    assert emulator.credential(edited["AccessKeyId"]).role_name == "ReadOnly"


def test_a_new_token_in_the_cache_drops_what_came_from_the_old_one(sandbox, emulator, agent):
    sandbox.login()
    first = agent.ask(agent.request("get"))["credentials"]
    sandbox.login()  # another sign-in (perhaps as someone else) rewrites the token file
    assert agent.ask(agent.request("peek"))["warm"] is False
    second = agent.ask(agent.request("get"))["credentials"]
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert emulator.calls["GetRoleCredentials"] == 2


def test_a_fetch_that_fails_is_a_miss_and_the_next_miss_comes_at_once(sandbox, emulator, agent):
    # no token at all: the fetch cannot sign in (it never does), so it fails
    started = time.monotonic()
    lines = raw_lines(agent.socket, agent.request("get"))
    assert time.monotonic() - started < 30  # does not hang
    assert lines[0]["wait"] is True
    assert lines[1]["ok"] is False and lines[1]["miss"] == "LoginRequired"
    again = raw_lines(agent.socket, agent.request("get"))
    assert again == [{"ok": False, "miss": "LoginRequired", "v": protocol.PROTOCOL}]
    sandbox.login()  # the token file appears: what was remembered no longer holds
    assert agent.ask(agent.request("get"))["ok"] is True


def test_credentials_under_three_quarters_of_their_life_are_not_served(sandbox, emulator, agent):
    emulator.credential_lifetime = 20
    sandbox.login()
    answer = agent.ask(agent.request("get"))
    expires = protocol.credentials_from_wire(answer["credentials"]).expiration.timestamp()
    emulator.fail("GetRoleCredentials", 500, times=1000)  # so the refresh ahead fails too
    wait_for(lambda: not agent.ask(agent.request("peek"))["warm"], what="the entry to go cold")
    assert expires - time.time() < 0.75 * 20 + 1  # dropped only once under 3/4
    assert agent.ask(agent.request("get")) == {
        "ok": False,
        "miss": "AwsCallError",
        "v": protocol.PROTOCOL,
    }


def test_a_recently_used_key_is_refreshed_ahead(sandbox, emulator, agent):
    emulator.credential_lifetime = 30
    sandbox.login()
    first = agent.ask(agent.request("get"))["credentials"]
    # Busy meanwhile (a request every few milliseconds, none a get), the agent fetches by
    # itself all the same; then it serves the new ones.
    wait_for(
        lambda: agent.ask(agent.request("peek")) and emulator.calls["GetRoleCredentials"] == 2,
        what="the refresh ahead",
    )
    second = wait_for(
        lambda: (c := agent.ask(agent.request("get"))["credentials"]) != first and c,
        what="the refreshed credentials",
    )
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert emulator.calls["GetRoleCredentials"] == 2
    left = protocol.credentials_from_wire(second).expiration.timestamp() - time.time()
    assert left >= 0.75 * 30 - 2


def test_wipe_forgets_and_stop_ends_the_agent(sandbox, emulator, agent):
    sandbox.login()
    assert agent.ask(agent.request("get"))["ok"]
    assert agent.ask({"op": "wipe"})["ok"]
    assert agent.ask(agent.request("peek"))["warm"] is False
    assert agent.ask(agent.request("get"))["ok"]
    assert emulator.calls["GetRoleCredentials"] == 2
    result = sandbox.run("agent", "stop")
    assert result.returncode == 0 and "agent stopped" in result.stderr
    wait_for(lambda: process_gone(agent.pid), what="the agent to exit")
    assert not agent.socket.exists()
    result = sandbox.run("agent", "stop")
    assert result.returncode == 0 and "no agent is running" in result.stderr


def test_status_shows_profiles_and_minutes_never_a_secret(sandbox, emulator, agent):
    sandbox.login()
    assert agent.ask(agent.request("get"))["ok"]
    assert agent.ask(agent.request("get", profile="legacy"))["ok"] is False  # no legacy token
    table = sandbox.run("agent", "status")
    assert table.returncode == 0, table.stderr
    assert f"agent pid {agent.pid}" in table.stdout
    assert "dev" in table.stdout and "eu-west-1" in table.stdout and "legacy" not in table.stdout
    document = json.loads(sandbox.run("agent", "status", "--json").stdout)
    assert document["running"] is True and document["pid"] == agent.pid
    [entry] = document["entries"]
    assert entry["profile"] == "dev" and 55 <= entry["minutes_left"] <= 60
    secrets = emulator.issued_secrets() + [
        c["access_key_id"] for c in emulator.credentials_issued()
    ]
    for secret in secrets:
        assert secret not in table.stdout + table.stderr
        assert secret not in json.dumps(document)


def test_status_without_an_agent_exits_3(sandbox):
    result = sandbox.run("agent", "status")
    assert result.returncode == 3
    assert result.stdout == "" and "no agent is running" in result.stderr
    assert json.loads(sandbox.run("agent", "status", "--json").stdout) == {"running": False}


def test_clients_that_send_nothing_hold_up_no_one(sandbox, agent):
    silent = []
    for _ in range(8):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(agent.socket))
        silent.append(sock)
    silent[0].sendall(b'{"op": "sta')  # half a request, never finished
    try:
        started = time.monotonic()
        assert agent.ask({"op": "status"})["ok"]
        assert time.monotonic() - started < 5  # not behind the silent ones' read timeouts
    finally:
        for sock in silent:
            sock.close()


def test_garbage_and_other_versions_get_no_credentials(sandbox, agent):
    sandbox.login()
    get = agent.request("get")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(agent.socket))
        sock.sendall(json.dumps({**get, "v": "0.0.0/0"}).encode() + b"\n")
        assert json.loads(sock.recv(65536)) == {
            "ok": False,
            "miss": "another version",
            "v": protocol.PROTOCOL,
        }
    for junk in (b"\xff\xfe\n", b"[]\n", b"x" * (protocol.MAX_LINE + 1)):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(agent.socket))
            sock.settimeout(10)
            try:
                sock.sendall(junk)
                answer = sock.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""  # closed with the rest of the junk unread: unanswered too
            assert answer == b""  # closed, unanswered
    assert agent.ask({"op": "status"})["ok"]  # and still serving


def test_idle_agent_exits_and_removes_its_socket(sandbox):
    result = sandbox.run("agent", "start", env={"SSOEXEC_AGENT_IDLE": "1"})
    assert result.returncode == 0, result.stderr
    pid = int(result.stderr.split("pid ")[1].split(",")[0])
    wait_for(lambda: process_gone(pid), what="the idle agent to exit")
    assert not (sandbox.tmp / f"ssoexec-{os.getuid()}" / "agent.sock").exists()


def test_an_agent_whose_socket_is_removed_exits(sandbox, agent):
    agent.socket.unlink()
    wait_for(lambda: process_gone(agent.pid), what="the agent to notice")


def test_start_replaces_a_dead_agents_socket(sandbox, agent):
    os.kill(agent.pid, 9)
    wait_for(lambda: process_gone(agent.pid), what="the agent to die")
    assert agent.socket.exists()  # stale: nobody listens
    assert agent.ask({"op": "status"}) is None
    result = sandbox.run("agent", "start")
    assert result.returncode == 0 and "agent started" in result.stderr, result.stderr
    agent.pid = agent.ask({"op": "status"})["pid"]
    result = sandbox.run("agent", "start")
    assert "already running" in result.stderr and f"pid {agent.pid}" in result.stderr


def test_start_asks_an_agent_of_another_version_to_stop(sandbox):
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700)
    path = folder / "agent.sock"
    old = socket.socket(socket.AF_UNIX)
    old.bind(str(path))
    old.listen()
    received = []

    def serve_as_old_version():
        while True:
            conn, _ = old.accept()
            with conn:
                request = json.loads(conn.recv(65536))
                received.append(request["op"])
                conn.sendall(b'{"ok": true, "pid": 1, "v": "0.0.1/1"}\n')
                if request["op"] == "stop":
                    path.unlink()
                    old.close()
                    return

    from threading import Thread

    Thread(target=serve_as_old_version, daemon=True).start()
    result = sandbox.run("agent", "start", env={"SSOEXEC_AGENT_IDLE": "60"})
    try:
        assert result.returncode == 0 and "agent started" in result.stderr, result.stderr
        assert received[-1] == "stop"
    finally:
        from tests.conftest import stop_agent

        pid = int(result.stderr.split("pid ")[1].split(",")[0]) if "pid " in result.stderr else None
        stop_agent(sandbox, pid)


def test_the_directory_is_0700_and_the_socket_0600_whatever_the_umask(sandbox):
    result = subprocess.run(
        ["sh", "-c", 'umask 0; exec "$0" agent start', SSOEXEC],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "agent.sock").lstat().st_mode) == 0o600
        assert stat.S_ISSOCK((folder / "agent.sock").lstat().st_mode)
    finally:
        from tests.conftest import stop_agent

        stop_agent(sandbox, int(result.stderr.split("pid ")[1].split(",")[0]))


def bad_directory_refused(sandbox, folder):
    result = sandbox.run("agent", "start")
    lines = result.stderr.splitlines()
    assert result.returncode == 125, result.stderr
    assert len(lines) == 2 and lines[0].startswith("ssoexec: error: the agent's directory")
    assert lines[1].startswith("hint: ")
    assert not (folder / "agent.sock").exists()
    return lines[0]


def test_a_group_writable_directory_is_refused(sandbox):
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o770)
    assert "open to other users" in bad_directory_refused(sandbox, folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o770


def test_a_symlinked_directory_is_refused(sandbox):
    real = sandbox.tmp / "elsewhere"
    real.mkdir(mode=0o700)
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.symlink_to(real)
    assert "symlink" in bad_directory_refused(sandbox, real)


def test_a_directory_of_another_user_is_refused(sandbox):
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert "another user" in bad_directory_refused(sandbox, folder)


def test_agent_fetch_prints_one_json_line(sandbox, emulator):
    token_file = sandbox.login()
    result = sandbox.run("agent", "fetch", "--profile", "dev")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["profile_region"] == "eu-west-1"
    assert answer["token_file"] == str(token_file)
    assert answer["credentials"]["AccountId"] == "111111111111"
    token_file.unlink()
    result = sandbox.run("agent", "fetch", "--profile", "dev")
    assert result.returncode == 125
    assert json.loads(result.stdout) == {"miss": "LoginRequired", "token_file": str(token_file)}


def test_the_fetch_never_signs_in_even_with_a_terminal(sandbox, emulator):
    from tests.conftest import SSOEXEC, run_in_terminal

    status, output = run_in_terminal(
        [SSOEXEC, "agent", "fetch", "-p", "dev"],
        {**sandbox.env, "BROWSER": "false"},
        timeout=60,
    )
    assert status == 125 and "LoginRequired" in output
    assert emulator.calls["StartDeviceAuthorization"] == emulator.calls["RegisterClient"] == 0


def test_nothing_reaches_the_disk(sandbox, emulator, agent):
    sandbox.login()
    assert agent.ask(agent.request("get"))["ok"]
    sandbox.assert_no_credentials_on_disk()
    entries = subprocess.run(
        ["ls", "-A", str(agent.socket.parent)], capture_output=True, text=True, check=True
    )
    assert entries.stdout.split() == ["agent.sock"]


def test_parallel_starts_make_one_agent(sandbox):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: sandbox.run("agent", "start"), range(8)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    pids = {int(r.stderr.split("pid ")[1].split(",")[0]) for r in results}
    try:
        assert len(pids) == 1
        assert sum("agent started" in r.stderr for r in results) == 1
    finally:
        from tests.conftest import stop_agent

        for pid in pids:
            stop_agent(sandbox, pid)


def test_a_wipe_during_a_fetch_keeps_nothing_from_it(sandbox, emulator, agent):
    """logout wipes: credentials a fetch brings back after that are from before the logout."""
    sandbox.login()
    emulator.latency = 3
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(agent.ask, agent.request("get"))
        wait_for(lambda: emulator.calls["GetRoleCredentials"] == 1, what="the fetch to call AWS")
        assert agent.ask({"op": "wipe"})["ok"]
        answer = waiting.result()
    assert answer["ok"] is False
    assert agent.ask(agent.request("peek"))["warm"] is False
    emulator.latency = 0
    assert agent.ask(agent.request("get"))["ok"] is True  # a new fetch, not a remembered failure
    assert emulator.calls["GetRoleCredentials"] == 2


def test_start_replaces_a_wedged_agent(sandbox):
    """One that accepts connections and never answers: its socket is replaced."""
    folder = sandbox.tmp / f"ssoexec-{os.getuid()}"
    folder.mkdir(mode=0o700)
    wedged = socket.socket(socket.AF_UNIX)
    wedged.bind(str(folder / "agent.sock"))
    wedged.listen()
    try:
        result = sandbox.run("agent", "start")
        assert result.returncode == 0 and "agent started" in result.stderr, result.stderr
        status = json.loads(sandbox.run("agent", "status", "--json").stdout)
        assert status["running"] is True
    finally:
        wedged.close()
        from tests.conftest import stop_agent

        stop_agent(sandbox, int(result.stderr.split("pid ")[1].split(",")[0]))


def test_agent_without_an_action_is_a_usage_error(sandbox):
    result = sandbox.run("agent")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ssoexec: error: agent needs one of start, stop, status",
        "hint: see `ssoexec agent --help`",
    ]


def test_agent_fetch_refuses_what_the_agent_never_writes(sandbox):
    for args in (["--bogus"], ["-p"], [], ["--help"], ["-p", "dev", "--account", "1"]):
        result = sandbox.run("agent", "fetch", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == "" and result.stderr.startswith("ssoexec: error: "), args
