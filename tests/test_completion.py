"""The names the completion scripts ask for, the scripts `ssoexec completion` prints, and the
CLI surface each script must cover. The scripts' behaviour in real shells: test_shells.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from ssoexec import cli, completion

SHELL_DIR = Path(__file__).resolve().parents[1] / "shell"
SSOEXEC = str(Path(sys.executable).parent / "ssoexec")

CONFIG = """\
[default]
region = eu-west-1

[profile dev]
sso_session = corp

[profile "a b"]
region = eu-west-1

[profile   demo]
region = eu-west-1

[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start

[sso-session "other one"]
sso_start_url = https://d-other.awsapps.com/start

[preview]
not_a_profile = true

[profile]
not_a_profile = true
"""
CREDENTIALS = """\
[default]
aws_access_key_id = AKIAEXAMPLE

[dev]
aws_access_key_id = AKIAEXAMPLE

[static]
aws_access_key_id = AKIAEXAMPLE
"""


@pytest.fixture
def aws(tmp_path, monkeypatch) -> tuple[Path, Path]:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(CONFIG)
    credentials.write_text(CREDENTIALS)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return config, credentials


def test_profile_names_from_config_and_credentials(aws):
    assert completion.profile_names() == ["a b", "default", "demo", "dev", "static"]


def test_sso_session_names(aws):
    assert completion.sso_session_names() == ["corp", "other one"]


def test_default_paths_are_under_home(tmp_path, monkeypatch):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[profile dev]\n[sso-session corp]\n")
    (tmp_path / ".aws" / "credentials").write_text("[static]\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    assert completion.profile_names() == ["dev", "static"]
    assert completion.sso_session_names() == ["corp"]


@pytest.mark.parametrize(
    "broken",
    [
        b"no section header = 1\n",
        b"[profile dev]\n[profile dev]\n",  # a duplicate section
        b"[profile dev\n",
        b"\xff\xfe\x00 not utf-8",
        None,  # a directory where the file should be
        "missing",
    ],
    ids=["no-header", "duplicate", "unclosed", "binary", "directory", "missing"],
)
def test_a_broken_file_gives_the_other_files_names(aws, broken):
    config, _ = aws
    config.unlink()
    if broken is None:
        config.mkdir()
    elif broken != "missing":
        config.write_bytes(broken)
    assert completion.profile_names() == ["default", "dev", "static"]
    assert completion.sso_session_names() == []


def test_print_profile_names(aws, capsys):
    completion.print_profile_names([])
    assert capsys.readouterr().out == "a b\ndefault\ndemo\ndev\nstatic\n"
    completion.print_profile_names(["--sso-sessions"])
    assert capsys.readouterr().out == "corp\nother one\n"


def run(
    *args: str, env: dict | None = None, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    argv = [sys.executable, *python, "-m", "ssoexec", *args] if python else [SSOEXEC, *args]
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_the_hook_in_the_installed_script(aws):
    env = {**os.environ, "AWS_PROFILE": "does-not-matter"}
    profiles = run("__complete-profiles", env=env)
    assert (profiles.returncode, profiles.stdout, profiles.stderr) == (
        0,
        "a b\ndefault\ndemo\ndev\nstatic\n",
        "",
    )
    sessions = run("__complete-profiles", "--sso-sessions", env=env)
    assert (sessions.returncode, sessions.stdout) == (0, "corp\nother one\n")


def test_the_hook_loads_neither_boto3_nor_a_botocore_session_nor_typer(aws):
    result = run("__complete-profiles", env=dict(os.environ), python=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert "dev\n" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "botocore.configloader" in imported  # the check reads what it thinks it reads
    for heavy in ("boto3", "botocore.session", "botocore.client", "typer", "rich"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in imported), heavy


@pytest.mark.parametrize("shell", sorted(completion.SCRIPTS))
def test_completion_subcommand_prints_the_script(shell):
    result = run("completion", shell)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (SHELL_DIR / completion.SCRIPTS[shell]).read_text(encoding="utf-8")


def test_every_shell_has_a_script_and_a_prompt():
    assert set(completion.SCRIPTS) == {choice.value for choice in cli.Shell}
    for name in ("prompt.bash", "prompt.zsh", "prompt.fish", "prompt.ps1", "INSTALL.txt"):
        assert (SHELL_DIR / name).is_file(), name
    install = (SHELL_DIR / "INSTALL.txt").read_text()
    for line in (
        'eval "$(ssoexec completion bash)"',
        "source <(ssoexec completion zsh)",
        "ssoexec completion fish > ~/.config/fish/completions/ssoexec.fish",
        "ssoexec completion powershell | Out-String | Invoke-Expression",
    ):
        assert line in install
        assert any(line in (SHELL_DIR / s).read_text() for s in completion.SCRIPTS.values())


def cli_surface() -> set[str]:
    """Every subcommand, option and choice of the typer app, as typed on the command line."""
    group = typer.main.get_command(cli.app)
    root = typer.Context(group, info_name="ssoexec", **group.context_settings)
    words: set[str] = set()
    commands = [(group, root)]
    for name, command in group.commands.items():
        words.add(name)
        commands.append((command, typer.Context(command, info_name=name, parent=root)))
    for command, ctx in commands:
        for param in command.get_params(ctx):
            if param.opts[0].startswith("-"):
                words.update(param.opts, param.secondary_opts)
            for choice in getattr(param.type, "choices", None) or ():
                words.add(str(getattr(choice, "value", choice)))
    return words


# SPEC §2, whether or not the app has it yet: subcommands, options and their choices.
SPEC_SURFACE = """
login logout configure list export credential-process doctor completion
-p --profile --region --login --server --debug --version -h --help
--sso-session --device-code --no-browser --all --start-url --sso-region
--profile-template --dry-run --update --json --format
auto never sh fish powershell json dotenv bash zsh
"""


@pytest.mark.parametrize("shell", sorted(completion.SCRIPTS))
def test_each_script_covers_the_whole_cli(shell):
    text = (SHELL_DIR / completion.SCRIPTS[shell]).read_text()
    surface = cli_surface()
    assert {"completion", "--profile", "--help"} <= surface  # introspection found the app
    for word in sorted(surface | set(SPEC_SURFACE.split())):
        if shell == "fish" and word.startswith("--"):
            word = f"-l {word[2:]}"  # fish's spelling: complete -c ssoexec -s p -l profile
        elif shell == "fish" and word.startswith("-"):
            word = f"-s {word[1:]}"
        assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word


def test_regions_are_real_and_the_same_in_every_script():
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("endpoints")["partitions"]
    known = {region for partition in partitions for region in partition["regions"]}
    lists = {}
    for shell, name in completion.SCRIPTS.items():
        lists[shell] = re.findall(r"\b[a-z]{2}-[a-z]+-\d\b", (SHELL_DIR / name).read_text())
        assert set(lists[shell]) <= known, shell
    first = lists.pop("bash")
    assert "us-east-1" in first
    for shell, regions in lists.items():
        assert sorted(set(regions)) == sorted(set(first)), shell
