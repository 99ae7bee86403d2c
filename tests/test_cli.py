"""Command-line wiring, in process, with an exec seam that really runs the child."""

import subprocess
import sys

import pytest

from ssoexec import cli, process

STATIC = (
    "[profile st]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = static-secret\n"
    "region = eu-north-1\n[default]\ncredential_process = /bin/false\n"
)


class Ran:
    argv: list[str] | None = None
    env: dict | None = None
    stdout: str = ""


@pytest.fixture
def ran(tmp_path, monkeypatch):
    """Instead of exec (which would replace pytest), run the child and exit with its status."""
    config = tmp_path / "config"
    config.write_text(STATIC)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    record = Ran()

    def run_child(argv, env):
        record.argv, record.env = list(argv), dict(env)
        child = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        record.stdout = child.stdout
        sys.exit(child.returncode)

    monkeypatch.setattr(process, "exec_command", run_child)
    return record


def main(*argv):
    with pytest.raises(SystemExit) as ended:
        cli.main(list(argv))
    return ended.value.code


def test_everything_after_dashes_is_the_command(ran):
    assert main("-p", "st", "--", "sh", "-c", "exit 3", "--help") == 3
    assert ran.argv == ["sh", "-c", "exit 3", "--help"]
    assert ran.env["AWS_ACCESS_KEY_ID"] == "AKIASTATIC"


def test_options_after_the_command_word_belong_to_the_command(ran):
    assert main("-p", "st", sys.executable, "--version") == 0
    assert ran.argv == [sys.executable, "--version"]
    assert ran.stdout.startswith("Python ")


def test_profile_from_environment(ran, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "nosuch")
    monkeypatch.setenv("AWS_PROFILE", "st")
    assert main("true") == 0
    assert ran.env["SSOEXEC_PROFILE"] == "st"
    assert "AWS_PROFILE" not in ran.env


def test_region_option_wins(ran, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert main("-p", "st", "--region", "ap-south-1", "true") == 0
    assert ran.env["AWS_REGION"] == ran.env["AWS_DEFAULT_REGION"] == "ap-south-1"


def test_no_command_starts_the_shell(ran, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/true")
    assert main("-p", "st") == 0
    assert ran.argv == ["/bin/true"]


def test_unknown_option_is_a_usage_error(ran, capsys):
    assert main("--bogus", "true") == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["ssoexec: error: No such option: --bogus", "hint: see `ssoexec --help`"]
    assert ran.argv is None


def test_failure_is_two_lines_on_stderr_and_nothing_on_stdout(ran, capsys):
    assert main("-p", "nosuch", "true") == 125
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ssoexec: error: profile 'nosuch' is not in ")
    assert len(err.splitlines()) == 2 and err.splitlines()[1].startswith("hint: ")


def test_version_and_help_go_to_stdout(ran, capsys):
    assert main("--version") == 0
    assert capsys.readouterr().out.startswith("ssoexec ")
    assert main("--help") == 0
    assert "--profile" in capsys.readouterr().out
