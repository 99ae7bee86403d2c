"""Starting the command: exec failures as env(1) reports them, and the Windows spawn branch
(driven with pytest-subprocess, since this machine has no Windows)."""

import os
import signal
import sys

import pytest

from ssoexec import process
from ssoexec.errors import CommandError


@pytest.fixture
def tool(tmp_path):
    """An executable file on a PATH of its own."""
    path = tmp_path / "tool"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_windows_branch_passes_the_exit_status_on(fp, tool):
    fp.register([str(tool), "a b", ""], returncode=7)
    assert process.run_and_wait(["tool", "a b", ""], {"PATH": str(tool.parent)}) == 7
    assert fp.call_count([str(tool), "a b", ""]) == 1


def test_windows_branch_ignores_ctrl_c_while_the_child_runs(fp, tool):
    seen = []

    def child(_):  # the fake child runs in a thread while ssoexec waits for it
        seen.append(signal.getsignal(signal.SIGINT))
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C while the child runs

    fp.register([str(tool)], callback=child)
    before = signal.getsignal(signal.SIGINT)
    try:
        process.run_and_wait(["tool"], {"PATH": str(tool.parent)})
    except KeyboardInterrupt:
        pytest.fail("a Ctrl-C while the child ran ended ssoexec")
    assert seen == [signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) is before


class CtrlCWhenCopied(str):
    """An environment value that presses Ctrl-C (a real SIGINT) when it is copied, which
    pytest-subprocess does with Popen's arguments as it "spawns": a Ctrl-C landing mid-spawn,
    in the main thread, every time."""

    def __deepcopy__(self, _memo):
        signal.raise_signal(signal.SIGINT)
        return self


def test_windows_branch_ignores_ctrl_c_from_before_the_spawn(fp, tool):
    """A Ctrl-C between spawning the child and ignoring Ctrl-C ended ssoexec and orphaned
    the child; it is ignored from before the spawn now."""
    fp.register([str(tool)], returncode=3)
    before = signal.getsignal(signal.SIGINT)
    env = {"PATH": str(tool.parent), "CTRL_C": CtrlCWhenCopied("now")}
    try:
        assert process.run_and_wait(["tool"], env) == 3
    except KeyboardInterrupt:
        pytest.fail("a Ctrl-C during the spawn ended ssoexec and orphaned the child")
    assert signal.getsignal(signal.SIGINT) is before
    assert fp.call_count([str(tool)]) == 1


def test_windows_branch_command_not_found(fp, tmp_path):
    with pytest.raises(CommandError) as caught:
        process.run_and_wait(["nosuch"], {"PATH": str(tmp_path)})
    assert caught.value.exit_code == 127
    assert fp.call_count(["nosuch"]) == 0


def test_windows_branch_not_executable(tmp_path):
    """A real spawn of a file that has the x bit but is no program (no fake needed)."""
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01 not a program")
    junk.chmod(0o755)
    with pytest.raises(CommandError) as caught:
        process.run_and_wait(["junk"], {"PATH": str(tmp_path)})
    assert caught.value.exit_code == 126


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (FileNotFoundError(2, "No such file or directory"), 127, "command not found"),
        (NotADirectoryError(20, "Not a directory"), 127, "command not found"),
        (PermissionError(13, "Permission denied"), 126, "Permission denied"),
        (OSError(8, "Exec format error"), 126, "Exec format error"),
    ],
)
def test_exec_failures_map_to_env_exit_statuses(error, status, words, monkeypatch):
    def fail(*_):
        raise error

    monkeypatch.setattr(os, "execvpe", fail)
    monkeypatch.setattr(process, "_restore_signal_defaults", lambda: None)
    with pytest.raises(CommandError) as caught:
        process.exec_command(["thing"], {})
    assert caught.value.exit_code == status
    assert words in caught.value.message
    assert "sh -c" in caught.value.hint or status == 126


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_exec_gives_the_child_default_sigpipe():
    previous = signal.getsignal(signal.SIGPIPE)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as the Python interpreter starts
        process._restore_signal_defaults()
        assert signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGPIPE, previous)
