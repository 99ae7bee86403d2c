"""argv -> what to do. The only module that imports typer.

`ssoexec [OPTIONS] [--] COMMAND [ARG...]` runs COMMAND; a first word that names a subcommand
runs that instead. The plain run form usually never gets here: entry.py recognises it first and
skips loading typer. Failures are reported once, by entry.exit_on_error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, NoReturn

import typer
from typer.core import TyperGroup

from ssoexec import __version__, entry
from ssoexec.errors import EXIT_USAGE, SsoexecError


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
    str | None,
    typer.Option(
        "-p",
        "--profile",
        envvar=list(entry.PROFILE_ENV),
        help="AWS config profile to use  [default: default]",
    ),
]


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    profile: ProfileOption = None,
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
    ctx.obj = Options(profile=entry.profile_name(profile), region=region, debug=debug)
    if ctx.invoked_subcommand is None:
        from ssoexec.run import run

        run(ctx.args, profile_name=ctx.obj.profile, region=ctx.obj.region)


def main(argv: list[str]) -> NoReturn:
    """Run the typer app on argv; exit with its status, or report its failure once."""

    def invoke() -> object:
        try:
            return app(args=argv, prog_name="ssoexec", standalone_mode=False)
        except typer.TyperException as error:  # the parser's usage errors
            ctx = getattr(error, "ctx", None)
            where = ctx.command_path if ctx is not None else "ssoexec"
            raise SsoexecError(
                error.format_message(), f"see `{where} --help`", exit_code=EXIT_USAGE
            ) from None
        except typer.Abort:
            raise KeyboardInterrupt from None

    entry.exit_on_error(invoke)


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


@app.command()
def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh, fish or powershell.")],
) -> None:
    """Print the shell completion script (see the README for where it goes)."""
    from ssoexec.completion import script

    sys.stdout.write(script(shell.value))
