"""argv -> what to do. The only module that imports typer.

`ssoexec [OPTIONS] [--] COMMAND [ARG...]` runs COMMAND; a first word that names a subcommand
runs that instead. Domain code raises SsoexecError; this module turns it into two lines on
stderr and an exit status, once. Heavier modules are imported where they are needed, so the
plain exec path loads no more than it uses.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Annotated, NoReturn

import typer
from typer.core import TyperGroup

from ssoexec import __version__
from ssoexec.errors import EXIT_FAILURE, EXIT_INTERRUPTED, SsoexecError

log = logging.getLogger("ssoexec")


class _CommandOrSubcommand(TyperGroup):
    """A group whose leftover arguments are a command to run, unless their first word names
    a subcommand and no `--` came before it (`ssoexec -p dev -- login` runs a program)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        remaining = [*ctx._protected_args, *rest]
        after_dashes = len(remaining) < len(args) and args[-len(remaining) - 1] == "--"
        if remaining and (after_dashes or remaining[0] not in self.commands):
            ctx._protected_args, ctx.args = [], remaining
        return ctx.args


app = typer.Typer(
    cls=_CommandOrSubcommand,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Run COMMAND with short-lived AWS IAM Identity Center (SSO) credentials, held in "
    "memory and given to COMMAND's environment only. Without COMMAND, start your shell.",
    options_metavar="[OPTIONS] [--] COMMAND [ARG...]",
)


@dataclass(frozen=True)
class Options:
    profile: str
    region: str | None
    debug: bool


def _show_version(value: bool) -> None:
    if value:
        print(f"ssoexec {__version__}")
        raise typer.Exit()


ProfileOption = Annotated[
    str,
    typer.Option(
        "-p",
        "--profile",
        envvar=["AWS_PROFILE", "AWS_DEFAULT_PROFILE"],
        help="AWS config profile to use.",
        show_default=True,
    ),
]


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    profile: ProfileOption = "default",
    region: Annotated[
        str | None, typer.Option("--region", help="Region the command sees (AWS_REGION).")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Diagnostics on stderr, secrets redacted.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    if debug:
        from ssoexec.diagnostics import enable_debug

        enable_debug()
    ctx.obj = Options(profile=profile, region=region, debug=debug)
    if ctx.invoked_subcommand is None:
        run(ctx.args, ctx.obj)


def run(command: list[str], options: Options) -> NoReturn:
    """Resolve the credentials and exec the command with them."""
    from ssoexec import environment, process

    if not command:
        command = [_user_shell()]
    credentials = environment.inherited_credentials(os.environ, options.profile)
    if credentials is not None:
        log.debug("reusing the credentials this ssoexec child was given for %s", options.profile)
        region = environment.resolve_region(options.region, os.environ, None)
    else:
        from ssoexec.credentials import fetch_credentials
        from ssoexec.profile import load_profile

        profile = load_profile(options.profile)
        log.debug("profile %s: %s", profile.name, profile.kind)
        region = environment.resolve_region(options.region, os.environ, profile.region)
        credentials = fetch_credentials(profile, region=region)
    env = environment.build_child_env(
        os.environ, profile_name=options.profile, credentials=credentials, region=region
    )
    log.debug("running %r with %s, region %s", command[0], credentials, region)
    process.exec_command(command, env)


def _user_shell() -> str:
    return os.environ.get("SHELL") or "/bin/sh"


def _report(message: str, hint: str) -> None:
    one_line = " ".join(message.split())
    print(f"ssoexec: error: {one_line}\nhint: {' '.join(hint.split())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: run the app, map every failure to an exit status."""
    try:
        status = app(args=argv, prog_name="ssoexec", standalone_mode=False)
    except SsoexecError as error:
        _report(error.message, error.hint)
        sys.exit(error.exit_code)
    except typer.TyperException as error:  # usage errors from the parser, exit status 2
        _report(error.format_message(), "see `ssoexec --help`")
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print(file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        if log.isEnabledFor(logging.DEBUG):
            import traceback

            traceback.print_exc()
        _report(
            f"unexpected {type(error).__name__}",
            "run again with --debug for the traceback, and report it",
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(status if isinstance(status, int) else 0)
