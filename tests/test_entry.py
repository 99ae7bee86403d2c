"""The console script's fast path must read every input exactly as the typer app does."""

import functools
import itertools
import random

import pytest
import typer

from ssoexec import choices, cli, entry

TOKENS = [
    "--server",
    "--login",
    "never",
    "--login=auto",
    "--login=bad",
    "-p",
    "dev",
    "-pdev",
    "--profile",
    "--profile=dev",
    "--region",
    "eu-1",
    "--region=eu-1",
    "--debug",
    "--",
    "cmd",
    "-x",
    "--help",
    "-",
    "",
    "--prof",
    "--region=",
    "list",
    "logout",
    "--all",
    "--sso-session",
    "corp",
    "--sso-session=corp",
    "--account",
    "111111111111",
    "--account=1",
    "--role",
    "--role=Admin",
    "export",
]


@functools.cache
def typer_command():
    """The click command typer builds from the app: built once, parsed with many times."""
    return typer.main.get_command(cli.app)


def typer_reading(argv):
    """What the typer app makes of argv: (profile, region, login, debug, server, -p given,
    sso-session, account, role, command), or None if it would not run a command (help,
    version, an error, a subcommand)."""
    command = typer_command()
    try:
        ctx = command.make_context("ssoexec", list(argv))
    except (typer.TyperException, typer.Exit, SystemExit):
        return None
    if ctx._protected_args:
        return None
    params = ctx.params
    login = choices.login_mode(getattr(params["login"], "value", params["login"]))
    return (
        choices.profile_name(params["profile"]),
        params["region"],
        login,
        params["debug"],
        params["server"],
        ctx.get_parameter_source("profile").name == "COMMANDLINE",
        params["sso_session"],
        params["account"],
        params["role"],
        ctx.args,
    )


def fast_reading(argv):
    request = entry.parse_run(list(argv))
    if request is None:
        return None
    return (
        choices.profile_name(request.profile),
        request.region,
        choices.login_mode(request.login),
        request.debug,
        request.server,
        request.profile is not None,
        request.sso_session,
        request.account,
        request.role,
        request.command,
    )


@pytest.fixture(autouse=True)
def clean_profile_env(monkeypatch):
    for name in (*choices.PROFILE_ENV, "SSOEXEC_LOGIN", "SSOEXEC_SERVER"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-p", "dev", "--", "env"],
        ["-pdev", "env", "-p", "x"],
        ["--profile=dev", "--region", "eu-1", "python", "--version"],
        ["--debug", "--region=eu-1", "--", "--", "-x"],
        ["--login", "never", "cmd"],
        ["--login=bad", "cmd"],
        ["-p", "a", "-p", "b", "cmd"],
        ["cmd", "--debug"],
        ["-", "x"],
        ["--", "list"],
        ["-p", "dev", "--", "logout", "--all"],
        ["--region=eu-1", "--", "export"],
        ["--sso-session", "corp", "--account", "111111111111", "--role", "Admin", "--", "env"],
        ["--sso-session=corp", "--account=111111111111", "env"],
        ["--role", "Admin", "-p", "dev", "cmd"],
        ["--account", "1", "--role=x", "--region", "eu-1", "cmd", "--role", "y"],
    ],
)
def test_fast_path_agrees_with_typer(argv):
    assert fast_reading(argv) == typer_reading(argv)


def test_fast_path_agrees_with_typer_on_short_combinations():
    """Every argv of one or two tokens, and a fixed sample of three and four."""
    pick = random.Random(0)
    short = [argv for n in (1, 2) for argv in itertools.product(TOKENS, repeat=n)]
    longer = [tuple(pick.choice(TOKENS) for _ in range(n)) for n in (3, 4) for _ in range(800)]
    checked = 0
    for argv in short + longer:
        fast = fast_reading(argv)
        if fast is not None:  # whatever the fast path takes, typer must read alike
            assert fast == typer_reading(argv), argv
            checked += 1
    assert checked > 300


def test_fast_path_leaves_everything_else_to_typer():
    for argv in (
        ["--help"],
        ["--version"],
        ["-x", "cmd"],
        ["--profile"],
        ["-p", "--", "x"],
        ["--debug=1", "x"],
        ["--prof", "dev", "x"],
        ["-hp", "dev"],
        ["--account"],
        ["--role", "--", "x"],
        ["--sso-session", "corp", "export"],
        ["--acc", "1", "x"],
    ):
        assert entry.parse_run(argv) is None, argv


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "second")
    assert choices.profile_name(None) == "second"
    monkeypatch.setenv("AWS_PROFILE", "")
    assert choices.profile_name(None) == "second"
    monkeypatch.setenv("AWS_PROFILE", "first")
    assert choices.profile_name(None) == "first" == typer_reading(["x"])[0]
    assert choices.profile_name("flag") == "flag"


def test_subcommand_names_match_the_app():
    assert set(typer.main.get_command(cli.app).commands) == entry.SUBCOMMANDS


def test_aws_profile_is_not_a_p_given_with_the_direct_options(monkeypatch):
    """-p with --sso-session/--account is refused; AWS_PROFILE with them is not (both read so)."""
    monkeypatch.setenv("AWS_PROFILE", "dev")
    argv = ["--sso-session", "corp", "--account", "111111111111", "cmd"]
    assert fast_reading(argv) == typer_reading(argv)
    assert fast_reading(argv)[5] is False
    assert fast_reading(["-p", "dev", *argv])[5] is True == typer_reading(["-p", "dev", *argv])[5]
