"""Issue 9, end to end through the installed script: inputs that used to fall back silently
(`-p ''`), lose their `--`, or end in `unexpected X` get their own error line and hint."""

import pytest

SUBCOMMAND_FORMS = [
    ["-p", ""],
    ["--profile", ""],
    ["--profile="],
    ["-p", "", "export"],
    ["export", "-p", ""],
    ["export", "--profile="],
    ["doctor", "-p", ""],
    ["credential-process", "-p", ""],
    ["login", "-p", ""],
    ["logout", "--profile", ""],
    ["login", "--sso-session", ""],
]


@pytest.mark.parametrize("args", SUBCOMMAND_FORMS, ids=" ".join)
def test_empty_profile_is_a_usage_error(sandbox, tmp_path, args):
    """`ssoexec -p "$ENV" -- terraform apply` with ENV unset must not run against the profile
    AWS_PROFILE names (nor default): exit 2, and nothing runs or changes."""
    sandbox.login()
    marker = tmp_path / "ran"
    before = sandbox.files()
    runs = not any(word in args for word in ("export", "doctor", "login", "logout"))
    tail = ("--", "touch", str(marker)) if runs and "credential-process" not in args else ()
    result = sandbox.run(*args, *tail, env={"AWS_PROFILE": "dev"})
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: ") and "empty" in lines[0], lines[0]
    assert lines[1].startswith("hint: "), lines[1]
    assert result.stdout == ""
    assert not marker.exists()
    assert sandbox.files() == before
    assert sum(sandbox.emulator.calls.values()) == 0


@pytest.mark.parametrize("args", [["--region="], ["-p", "dev", "--region", ""]], ids=" ".join)
def test_dashes_keep_a_subcommand_name_a_command_on_the_typer_path(sandbox, tmp_path, args):
    """Input the fast path leaves to typer (an empty --region), then `-- logout --all`: the
    program logout (not found here), never ssoexec's own (which would sign out of everything);
    and `-- list` runs the program list."""
    token = sandbox.login()
    result = sandbox.run(*args, "--", "logout", "--all", env={"AWS_PROFILE": "dev"})
    assert result.returncode == 127, result.stderr
    assert token.exists()
    assert sandbox.emulator.calls["Logout"] == 0
    program = tmp_path / "bin" / "list"
    program.parent.mkdir(exist_ok=True)
    program.write_text('#!/bin/sh\necho "the program list: $SSOEXEC_PROFILE"\n')
    program.chmod(0o755)
    path = f"{program.parent}:{sandbox.env['PATH']}"
    result = sandbox.run(*args, "--", "list", env={"PATH": path, "AWS_PROFILE": "dev"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the program list: dev\n"


@pytest.fixture
def refused(sandbox):
    """Run ssoexec ARGS (and `-- touch MARKER` unless told); check it failed cleanly with one
    error line and one hint, nothing ran, nothing changed; return the two lines."""

    def run(*args, status=125, command=True, env=None):
        sandbox.login()
        marker = sandbox.tmp / "the-command-ran"
        before = sandbox.files()
        tail = ("--", "touch", str(marker)) if command else ()
        result = sandbox.run(*args, *tail, env=env)
        lines = result.stderr.splitlines()
        assert result.returncode == status, result.stderr
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith("ssoexec: error: "), lines[0]
        assert lines[1].startswith("hint: "), lines[1]
        assert "unexpected" not in result.stderr
        assert result.stdout == ""
        assert not marker.exists()
        assert sandbox.files() == before
        return lines

    return run
