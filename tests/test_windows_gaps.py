"""Issue 9, item 20: what Windows lacks (os.fchmod, os.fchown, a /dev/tty) ends in no
AttributeError. Run here with those attributes removed from `os`, as Windows has them."""

import os
import pty
import sys

from ssoexec import config_file, credentials


def test_config_write_without_fchmod_and_fchown(tmp_path, monkeypatch):
    path = tmp_path / "config"
    original = b"[profile a]\nregion = eu-west-1\n"
    path.write_bytes(original)
    path.chmod(0o640)
    monkeypatch.delattr(os, "fchmod")
    monkeypatch.delattr(os, "fchown")
    new = original + b"\n[profile b]\nregion = us-east-1\n"
    expected = config_file.Expected(added={"profile b": {"region": "us-east-1"}}, updates={})
    backup = config_file.write_config(path, original, new, expected)
    assert path.read_bytes() == new
    assert backup is not None and backup.read_bytes() == original
    assert path.stat().st_mode & 0o777 == 0o640
    assert backup.stat().st_mode & 0o777 == 0o640


def test_mfa_terminal_check_without_ctermid(monkeypatch):
    """Without a controlling-terminal device (Windows), getpass reads the console: there is
    a terminal when stdin is one."""
    monkeypatch.delattr(os, "ctermid")
    with open(os.devnull) as devnull:
        monkeypatch.setattr(sys, "stdin", devnull)
        assert credentials._has_terminal() is False
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, closefd=False) as terminal:
            monkeypatch.setattr(sys, "stdin", terminal)
            assert credentials._has_terminal() is True
    finally:
        os.close(leader)
        os.close(follower)
