"""The completion scripts and prompt snippets in shell/, driven through the real shells.

bash: the registered `complete -F` function, called as readline would call it (COMP_WORDS,
COMP_CWORD, COMP_LINE, COMP_POINT), with and without bash-completion 2.
zsh: an interactive zsh on a pseudo-terminal types each line and presses TAB; a compadd wrapper
records every match the completion functions add (the zsh-capture-completion technique), and a
key bound after TAB records the line as completion left it.
fish: `complete -C LINE`, with the script installed where the README puts it.
Each shell finds the installed ssoexec first on PATH, in a HOME of its own.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer

from ssoexec import cli

SHELL_DIR = Path(__file__).resolve().parents[1] / "shell"
BIN = Path(sys.executable).parent
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
CONFIG = """\
[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin

[profile demo]
region = eu-west-1

[profile prod]
region = us-east-1
"""

# SPEC §2: each subcommand's options, "" for the root's. The tests add whatever the typer app
# has on top, so that a new option fails here until every script completes it.
SPEC_OPTIONS = {
    "": "-p --profile --region --login --server --debug --version",
    "login": "-p --profile --sso-session --device-code --no-browser",
    "logout": "-p --profile --sso-session --all",
    "configure": "--start-url --sso-region --sso-session --region --profile-template --dry-run "
    "--update",
    "list": "--json",
    "export": "-p --profile --format",
    "credential-process": "-p --profile",
    "doctor": "-p --profile",
    "completion": "",
}


def expected_options() -> dict[str, set[str]]:
    """Per subcommand ("" for the root), the options the spec and the typer app define."""
    options = {sub: {*opts.split(), "-h", "--help"} for sub, opts in SPEC_OPTIONS.items()}
    group = typer.main.get_command(cli.app)
    root = typer.Context(group, info_name="ssoexec", **group.context_settings)
    commands = {"": (group, root)}
    for name, command in group.commands.items():
        commands[name] = (command, typer.Context(command, info_name=name, parent=root))
    for name, (command, ctx) in commands.items():
        for param in command.get_params(ctx):
            if param.opts[0].startswith("-"):
                options.setdefault(name, set()).update(param.opts, param.secondary_opts)
    return options


NOT_IN_DEBIAN = {
    "pwsh": "PowerShell (pwsh) is not installed; Debian does not package it, and Microsoft's "
    "repository is not reachable here"
}


def require(*programs: str) -> None:
    for program in programs:
        if not shutil.which(program):
            reason = f"{program} is not installed (apt-get install {program})"
            pytest.skip(NOT_IN_DEBIAN.get(program, reason))


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """A HOME with an AWS config, and the installed ssoexec first on PATH."""
    home = tmp_path_factory.mktemp("home")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(CONFIG)
    return {
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


# bash ----------------------------------------------------------------------------------------

BASH_DRIVER = r"""
[[ -n $BASH_COMPLETION ]] && source "$BASH_COMPLETION"
source "$SCRIPT"
function=$(complete -p ssoexec) && function=${function#*-F } && function=${function%% *}
COMP_LINE=$1 COMP_POINT=${#1}
shift
COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
"$function" ssoexec "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def readline_words(line: str) -> list[str]:
    """COMP_WORDS as readline splits the line: at blanks, and around = and : (COMP_WORDBREAKS)."""
    words = re.findall(r"[=:]+|[^\s=:]+", line)
    return [*words, ""] if not line or line[-1].isspace() else words


def bash_complete(line: str, env: dict, *, bash_completion: bool = True) -> list[str]:
    require("bash")
    if bash_completion and not BASH_COMPLETION.exists():
        pytest.skip("bash-completion is not installed (apt-get install bash-completion)")
    extra = {"SCRIPT": str(SHELL_DIR / "ssoexec.bash")}
    if bash_completion:
        extra["BASH_COMPLETION"] = str(BASH_COMPLETION)
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", line, *readline_words(line)],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return [word.rstrip() for word in result.stdout.splitlines() if word.strip()]


# zsh -----------------------------------------------------------------------------------------

ZSHRC = r"""
PS1='%% '
bindkey -e
unsetopt autolist listambiguous beep
fpath=($SSOEXEC_FPATH $fpath)
autoload -Uz compinit && compinit -u -d $ZDOTDIR/.zcompdump
[[ -n $SSOEXEC_SOURCE ]] && source $SSOEXEC_SOURCE
# Record every match that a completion function adds, then add it as usual.
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __matches
  builtin compadd -O __matches "$@"
  (( $#__matches )) && print -rl -- "${__matches[@]/#/M:}" >> $CAPTURE
  builtin compadd "$@"
}
# ^X^D, typed after TAB: record the line as completion left it, then clear it.
_capture_line() { print -r -- "L:$BUFFER" >> $CAPTURE; BUFFER= }
zle -N _capture_line
bindkey '^X^D' _capture_line
print READY >> $CAPTURE
"""


# The completion dump compinit wrote in this test process, per way of loading _ssoexec: later
# shells start from it, as a user's do, instead of each scanning every completion function.
_COMPDUMPS: dict[bool, Path] = {}


def zsh_complete(
    lines: list[str], env: dict, tmp: Path, *, source: bool = False
) -> list[tuple[list[str], str]]:
    """Type each line into a real interactive zsh and press TAB: for each, the matches the
    completion functions added, and the line as completion left it."""
    require("zsh")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / ".zshrc").write_text(ZSHRC)
    capture = tmp / "capture"
    capture.write_text("")
    env = {**env, "ZDOTDIR": str(tmp), "CAPTURE": str(capture)}
    if source:  # as `source <(ssoexec completion zsh)` after compinit
        env["SSOEXEC_SOURCE"] = str(SHELL_DIR / "_ssoexec")
    else:  # as _ssoexec in a directory on $fpath
        env["SSOEXEC_FPATH"] = str(SHELL_DIR)
    dump = tmp / ".zcompdump"
    if source in _COMPDUMPS:  # as a user's next shell finds it (compinit checks it is current)
        shutil.copyfile(_COMPDUMPS[source], dump)
    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execvpe("zsh", ["zsh", "--no-globalrcs", "-i"], env)
        finally:
            os._exit(127)
    screen = b""
    deadline = time.monotonic() + 30

    def wait_for(done) -> None:
        nonlocal screen
        while not done(capture.read_text()):
            assert time.monotonic() < deadline, (screen[-2000:], capture.read_text())
            if select.select([terminal], [], [], 0.05)[0]:
                try:
                    screen += os.read(terminal, 65536)
                except OSError:  # the shell exited
                    pytest.fail(f"zsh exited: {screen.decode(errors='replace')}")

    try:
        wait_for(lambda text: "READY" in text and b"% " in screen)
        for count, line in enumerate(lines, 1):
            os.write(terminal, line.encode() + b"\t\x18\x04")
            wait_for(lambda text, count=count: text.count("L:") >= count)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(terminal)
    if source not in _COMPDUMPS and dump.exists():
        _COMPDUMPS[source] = dump
    results, matches = [], []
    for entry in capture.read_text().splitlines():
        if entry.startswith("M:"):
            matches.append(entry[2:])
        elif entry.startswith("L:"):
            results.append((matches, entry[2:]))
            matches = []
    return results


# fish ----------------------------------------------------------------------------------------


def fish_complete(line: str, env: dict) -> list[str]:
    """`complete -C LINE` with the script where the README installs it."""
    require("fish")
    completions = Path(env["XDG_CONFIG_HOME"]) / "fish" / "completions"
    completions.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHELL_DIR / "ssoexec.fish", completions / "ssoexec.fish")
    result = subprocess.run(
        ["fish", "-c", "complete -C $argv[1]", line],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    current = line.split(" ")[-1]
    prefix = current.partition("=")[0] + "=" if current.startswith("--") and "=" in current else ""
    return [c.split("\t")[0].removeprefix(prefix) for c in result.stdout.splitlines()]


SHELLS = ["bash", "zsh", "fish"]


class Completer:
    """complete(shell, line): the candidates that shell's completion offers for the line;
    complete.all(shell, lines) for many lines (one zsh session for them all)."""

    def __init__(self, env: dict, tmp: Path) -> None:
        self.env, self.tmp, self.sessions = env, tmp, 0

    def __call__(self, shell: str, line: str) -> list[str]:
        return self.all(shell, [line])[0]

    def all(self, shell: str, lines: list[str]) -> list[list[str]]:
        if shell == "bash":
            return [bash_complete(line, self.env) for line in lines]
        if shell == "fish":
            return [fish_complete(line, self.env) for line in lines]
        self.sessions += 1
        results = zsh_complete(lines, self.env, self.tmp / f"zsh{self.sessions}")
        return [[match.removesuffix("=") for match in matches] for matches, _ in results]


@pytest.fixture
def complete(env, tmp_path) -> Completer:
    return Completer(env, tmp_path)


@pytest.mark.parametrize("shell", SHELLS)
def test_profile_names_come_from_the_config(shell, complete):
    assert set(complete(shell, "ssoexec -p d")) == {"demo", "dev"}
    assert set(complete(shell, "ssoexec --profile=d")) == {"demo", "dev"}
    assert set(complete(shell, "ssoexec login -p ")) == {"demo", "dev", "prod"}


@pytest.mark.parametrize("shell", SHELLS)
def test_sso_session_names_come_from_the_config(shell, complete):
    assert complete(shell, "ssoexec login --sso-session ") == ["corp"]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_role_without_a_profile(shell, complete):
    """--sso-session NAME --account ID --role NAME: their values are skipped to find the
    command, whose own completion follows; the session's name comes from the config."""
    require("git")
    assert complete(shell, "ssoexec --sso-session ") == ["corp"]
    assert complete(shell, "ssoexec export --sso-session ") == ["corp"]
    line = "ssoexec --sso-session corp --account 111111111111 --role Admin git che"
    assert {"checkout", "cherry-pick"} <= set(complete(shell, line))


@pytest.mark.parametrize("shell", SHELLS)
def test_root_option(shell, complete):
    assert complete(shell, "ssoexec --re") == ["--region"]


@pytest.mark.parametrize("shell", SHELLS)
def test_subcommands_at_the_first_word(shell, complete):
    assert {"login", "logout"} <= set(complete(shell, "ssoexec lo"))
    assert {"configure", "completion", "credential-process"} <= set(complete(shell, "ssoexec c"))
    assert "doctor" in complete(shell, "ssoexec -p dev do")


@pytest.mark.parametrize("shell", SHELLS)
def test_option_values(shell, complete):
    assert set(complete(shell, "ssoexec completion ")) == {"bash", "zsh", "fish", "powershell"}
    assert set(complete(shell, "ssoexec --login ")) == {"auto", "never"}
    assert set(complete(shell, "ssoexec export --format ")) == {
        "sh",
        "fish",
        "powershell",
        "json",
        "dotenv",
    }
    assert {"eu-west-1", "eu-west-2", "eu-west-3"} == set(complete(shell, "ssoexec --region eu-w"))


@pytest.mark.parametrize("shell", SHELLS)
def test_every_option_of_every_subcommand(shell, complete):
    expected = expected_options()
    lines = [f"ssoexec {sub} -".replace("  ", " ") for sub in expected]
    for (sub, options), offered in zip(expected.items(), complete.all(shell, lines), strict=True):
        assert set(offered) == options, sub


@pytest.mark.parametrize("shell", SHELLS)
def test_command_after_dashes_is_completed_by_its_own_completion(shell, complete):
    require("git")
    for line in ("ssoexec -p dev -- git che", "ssoexec -- git che", "ssoexec -p dev git che"):
        assert {"checkout", "cherry-pick"} <= set(complete(shell, line)), line
    assert "git" in complete(shell, "ssoexec -p dev -- gi")
    # After --, a subcommand's name is a program: `login -` gets none of login's options.
    assert "--device-code" not in complete(shell, "ssoexec -- login -")


@pytest.mark.parametrize("shell", SHELLS)
def test_command_arguments_are_paths_as_ls_would_complete(shell, env, tmp_path, complete):
    if shell == "zsh":  # the match is `usr` under the prefix `/`: read the line instead
        [(_, line)] = zsh_complete(["ssoexec -p dev -- ls /us"], env, tmp_path)
        assert line == "ssoexec -p dev -- ls /usr/"
    else:
        assert [c.rstrip("/") for c in complete(shell, "ssoexec -p dev -- ls /us")] == ["/usr"]


def test_bash_without_bash_completion_falls_back_to_names_and_files(env):
    def complete(line):
        return bash_complete(line, env, bash_completion=False)

    assert set(complete("ssoexec -p d")) == {"demo", "dev"}
    assert complete("ssoexec -p dev -- ls /us") == ["/usr"]
    assert "git" in complete("ssoexec -p dev -- gi")
    assert {"login", "logout"} <= set(complete("ssoexec lo"))


def test_zsh_sourced_after_compinit(env, tmp_path):
    require("git")
    profiles, git = zsh_complete(
        ["ssoexec -p d", "ssoexec -p dev -- git che"], env, tmp_path, source=True
    )
    assert set(profiles[0]) == {"demo", "dev"}
    assert profiles[1] == "ssoexec -p de"  # the common prefix is inserted
    assert {"checkout", "cherry-pick"} <= set(git[0])


def test_zsh_inserts_the_unique_option(env, tmp_path):
    [(_, line)] = zsh_complete(["ssoexec --re"], env, tmp_path)
    assert line == "ssoexec --region="


def test_powershell(env):
    require("pwsh")
    script = (
        f". '{SHELL_DIR / 'ssoexec.ps1'}'\n"
        "foreach ($line in $args) {\n"
        "  (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches |\n"
        "    ForEach-Object { $_.CompletionText }\n"
        "  '--'\n"
        "}\n"
    )
    lines = ["ssoexec -p d", "ssoexec --re", "ssoexec lo", "ssoexec completion "]
    result = subprocess.run(
        ["pwsh", "-NoProfile", "-NonInteractive", "-Command", script, *lines],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answers = [set(a.split()) for a in result.stdout.split("--\n")[: len(lines)]]
    assert answers[0] == {"demo", "dev"}
    assert answers[1] == {"--region"}
    assert {"login", "logout"} <= answers[2]
    assert answers[3] == {"bash", "zsh", "fish", "powershell"}


# Syntax and prompts ---------------------------------------------------------------------------

CHECKERS = {".bash": "bash", ".sh": "sh", ".zsh": "zsh", "": "zsh", ".fish": "fish"}


@pytest.mark.parametrize(
    "path",
    sorted(p.name for p in SHELL_DIR.iterdir() if p.is_file() and p.suffix in CHECKERS),
    ids=str,
)
def test_syntax(path):
    checker = CHECKERS[Path(path).suffix]
    require(checker)
    result = subprocess.run(
        [checker, "-n", SHELL_DIR / path], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_powershell_syntax():
    require("pwsh")
    check = (
        "$errors = $null; foreach ($f in $args) { [void][System.Management.Automation.Language."
        "Parser]::ParseFile($f, [ref]$null, [ref]$errors); if ($errors) { $errors; exit 1 } }"
    )
    files = [str(p) for p in SHELL_DIR.glob("*.ps1")]
    result = subprocess.run(
        ["pwsh", "-NoProfile", "-Command", check, *files], capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stdout


def rfc3339(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


PROMPTS = {
    "bash": ["bash", "--norc", "-c", 'source "$1"; shift; ssoexec_prompt "$@"', "bash"],
    "zsh": ["zsh", "-f", "-c", 'source "$1"; shift; ssoexec_prompt "$@"', "zsh"],
    "fish": ["fish", "--no-config", "-c", "source $argv[1]; ssoexec_prompt $argv[2..]"],
    "powershell": ["pwsh", "-NoProfile", "-Command", ". $args[0]; ssoexec_prompt @($args[1..9])"],
}
PROMPT_FILES = {
    "bash": "prompt.bash",
    "zsh": "prompt.zsh",
    "fish": "prompt.fish",
    "powershell": "prompt.ps1",
}

# BSD date (macOS): no -d; -j -f FORMAT DATE parses, here by handing it to GNU date.
BSD_DATE = """#!/bin/sh
case " $* " in *" -d "*) echo "date: illegal option -- d" >&2; exit 1 ;; esac
if [ "$1 $2 $3 $4" = "-u -j -f %Y-%m-%dT%H:%M:%SZ" ]; then exec /bin/date -u -d "$5" "$6"; fi
exec /bin/date "$@"
"""


def prompt(shell: str, env: dict, *args: str, **variables: str) -> str:
    argv = PROMPTS[shell]
    require(argv[0])
    environment = {k: v for k, v in env.items() if not k.startswith("SSOEXEC_")}
    result = subprocess.run(
        [*argv, str(SHELL_DIR / PROMPT_FILES[shell]), *args],
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.rstrip("\n") if shell == "powershell" else result.stdout


@pytest.mark.parametrize("shell", [*SHELLS, "powershell"])
def test_prompt(shell, env):
    soon = rfc3339(timedelta(minutes=42, seconds=30))
    assert prompt(shell, env, SSOEXEC_PROFILE="dev", SSOEXEC_EXPIRATION=soon) == "[aws:dev 42m]"
    past = rfc3339(timedelta(minutes=-5))
    assert prompt(shell, env, SSOEXEC_PROFILE="dev", SSOEXEC_EXPIRATION=past) == "[aws:dev expired]"
    assert prompt(shell, env, SSOEXEC_EXPIRATION=soon) == ""
    assert prompt(shell, env, SSOEXEC_PROFILE="dev") == "[aws:dev]"
    wrapped = prompt(shell, env, "(%s) ", SSOEXEC_PROFILE="dev", SSOEXEC_EXPIRATION=soon)
    assert wrapped == "([aws:dev 42m]) "


@pytest.mark.parametrize("shell", SHELLS)
def test_prompt_with_bsd_date(shell, env, tmp_path):
    (tmp_path / "date").write_text(BSD_DATE)
    (tmp_path / "date").chmod(0o755)
    env = {**env, "PATH": f"{tmp_path}{os.pathsep}{env['PATH']}"}
    soon = rfc3339(timedelta(minutes=42, seconds=30))
    assert prompt(shell, env, SSOEXEC_PROFILE="dev", SSOEXEC_EXPIRATION=soon) == "[aws:dev 42m]"
