"""argv -> what to do. The only module that imports typer.

`ssoexec [OPTIONS] [--] COMMAND [ARG...]` runs COMMAND; a first word that names a subcommand
runs that instead. The plain run form usually never gets here: entry.py recognises it first and
skips loading typer. Failures are reported once, by errors.exit_on_error.

Each subcommand imports its own module when it runs: `eval "$(ssoexec completion bash)"` in a
shell's startup file must not pay for botocore, which doctor, configure and export load.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.core import TyperGroup

from ssoexec import __version__, choices
from ssoexec.errors import EXIT_USAGE, SsoexecError, exit_on_error
from ssoexec.terminal import say

if TYPE_CHECKING:
    from ssoexec.clients import Aws
    from ssoexec.direct import DirectTarget
    from ssoexec.profile import SsoSession


class _CommandOrSubcommand(TyperGroup):
    """A group whose leftover arguments are a command to run, unless their first word names
    a subcommand and no `--` came before it (`ssoexec -p dev -- login` runs a program)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        args = list(args)  # the parser consumes the list it is given, `--` and all
        rest = super().parse_args(ctx, list(args))
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
    options_metavar="[OPTIONS]",
    subcommand_metavar="[--] COMMAND [ARG]... | SUBCOMMAND [ARGS]...",
)


@dataclass(frozen=True)
class Options:
    profile: str
    region: str | None
    login: str
    target: DirectTarget | None = None  # --sso-session/--account/--role instead of -p


class LoginMode(str, Enum):
    auto = "auto"
    never = "never"


def _show_version(value: bool) -> None:
    if value:
        print(f"ssoexec {__version__}")
        raise typer.Exit()


def _not_empty(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """An empty name (`-p "$ENV"` with ENV unset) is a mistake, never "use the default"."""
    if value is not None and not value:
        option = "/".join(param.opts)
        raise SsoexecError(
            f"{option} is empty (an unset variable?)",
            f"give {option} a name, or leave it out; see `{ctx.command_path} --help`",
            exit_code=EXIT_USAGE,
        )
    return value


ProfileOption = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--profile",
        envvar=list(choices.PROFILE_ENV),
        callback=_not_empty,
        help="AWS config profile to use  [default: default]",
    ),
]
# A subcommand's -p has no envvar of its own: the root option already falls back to
# AWS_PROFILE, and `ssoexec -p dev export` must beat an inherited AWS_PROFILE.
SubcommandProfileOption = Annotated[
    str | None,
    typer.Option(
        "-p", "--profile", callback=_not_empty, help="AWS config profile to use (as the main -p)."
    ),
]


# The role named directly, without a profile: the run form, export and credential-process
# take these three, and `target_for` turns them into a DirectTarget (see direct.py).
TargetSessionOption = Annotated[
    str | None,
    typer.Option(
        "--sso-session",
        callback=_not_empty,
        help="Without a profile: the [sso-session NAME] to sign in with (with --account).",
    ),
]
AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account",
        callback=_not_empty,
        help="Without a profile: the account id (12 digits), with --sso-session.",
    ),
]
RoleOption = Annotated[
    str | None,
    typer.Option(
        "--role",
        callback=_not_empty,
        help="Without a profile: the role (permission set) in --account; "
        "[default: the account's only role]",
    ),
]
# Subcommands that take the three: everything else refuses them before its name.
_TARGET_SUBCOMMANDS = ("export", "credential-process", "console")


def target_for(
    ctx: typer.Context, sso_session: str | None, account: str | None, role: str | None
) -> DirectTarget | None:
    """The DirectTarget a command's --sso-session/--account/--role name, or None; -p on the
    same command line with them is a usage error (AWS_PROFILE is not)."""
    from ssoexec.direct import target_from_options

    source = ctx.get_parameter_source("profile")  # click's ParameterSource, as typer bundles it
    given = source is not None and source.name == "COMMANDLINE"
    return target_from_options(
        profile_given=given, sso_session=sso_session, account=account, role=role
    )


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    profile: ProfileOption = None,
    sso_session: TargetSessionOption = None,
    account: AccountOption = None,
    role: RoleOption = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region the command sees (AWS_REGION).")
    ] = None,
    login: Annotated[
        LoginMode | None,
        typer.Option(
            "--login",
            envvar="SSOEXEC_LOGIN",
            help="auto: sign in when needed if a person is at a terminal (not in CI); "
            "never: fail at once.  [default: auto]",
        ),
    ] = None,
    server: Annotated[
        bool,
        typer.Option(
            "--server",
            help="Stay as the parent and serve credentials that keep fresh over a loopback "
            "endpoint (for runs longer than the credentials last). Env: SSOEXEC_SERVER=1.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Diagnostics on stderr, secrets redacted.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    if debug:
        from ssoexec.debug import enable_debug

        enable_debug()
    named = ctx.invoked_subcommand
    if named not in (None, *_TARGET_SUBCOMMANDS) and (sso_session or account or role):
        raise _usage(
            ctx,
            f"--sso-session, --account and --role before `{named}` belong to the run form; "
            f"give `{named}` its own options after its name",
        )
    target = target_for(ctx, sso_session, account, role)
    ctx.obj = Options(
        profile=choices.profile_name(profile),
        region=region,
        login=choices.login_mode(login.value if login else None),
        target=target,
    )
    if ctx.invoked_subcommand is None:
        from ssoexec.run import run

        run(
            ctx.args,
            profile_name=ctx.obj.profile,
            region=ctx.obj.region,
            login=ctx.obj.login,
            server=server or choices.server_mode(),
            target=target,
        )


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

    exit_on_error(invoke)


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


SsoSessionOption = Annotated[
    str | None,
    typer.Option(
        "--sso-session",
        callback=_not_empty,
        help="An [sso-session NAME] of the config, instead of -p.",
    ),
]


DeviceCodeOption = Annotated[
    bool, typer.Option("--device-code", help="Sign in with a code instead of a redirect.")
]
NoBrowserOption = Annotated[
    bool, typer.Option("--no-browser", help="Print the sign-in link; open no browser.")
]
AllSessionsOption = Annotated[
    bool, typer.Option("--all", help="Sign out of every SSO session in the cache.")
]


@app.command()
def login(
    ctx: typer.Context,
    profile: SubcommandProfileOption = None,
    sso_session: SsoSessionOption = None,
    device_code: DeviceCodeOption = False,
    no_browser: NoBrowserOption = False,
) -> None:
    """Sign in to AWS SSO (writes the AWS CLI's token cache; `aws sso login` alike)."""
    from ssoexec import login as flows
    from ssoexec import sso_token

    session, profile_name, aws = _session_for(ctx, profile, sso_session)
    with sso_token.session_lock(session):
        flows.sign_in(
            session,
            aws,
            device_code=device_code,
            open_browser=not no_browser,
            profile_name=profile_name,
        )


@app.command()
def logout(
    ctx: typer.Context,
    profile: SubcommandProfileOption = None,
    sso_session: SsoSessionOption = None,
    all_sessions: AllSessionsOption = False,
) -> None:
    """Sign out: end the SSO session at AWS and delete its cached token."""
    from ssoexec import signout

    if all_sessions:
        if profile or sso_session:
            raise _usage(ctx, "--all takes no -p or --sso-session")
        from ssoexec.clients import Aws

        signed_out, failed = signout.sign_out_all(Aws())
        if not signed_out and not failed:
            say("no SSO token to sign out of")
        if failed:
            raise typer.Exit(1)
        return
    session, _, aws = _session_for(ctx, profile, sso_session)
    if not signout.sign_out(session, aws):
        say(f"not signed in to {session}")


def _session_for(
    ctx: typer.Context, profile: str | None, sso_session: str | None
) -> tuple[SsoSession, str | None, Aws]:
    """The SSO session named by --sso-session, or the one the profile signs in with; the
    profile's name, if one was named; and botocore for it."""
    from ssoexec import profile as profiles
    from ssoexec.clients import Aws

    if profile and sso_session:
        raise _usage(ctx, "give -p or --sso-session, not both")
    if sso_session:
        aws = Aws()
        return profiles.load_sso_session(sso_session, profiles.load_config(aws)), None, aws
    name = profile or ctx.obj.profile
    aws = Aws(name)
    session = profiles.sso_session_of(profiles.load_profile(name, profiles.load_config(aws)))
    return session, name, aws


def _usage(ctx: typer.Context, message: str) -> SsoexecError:
    return SsoexecError(message, f"see `{ctx.command_path} --help`", exit_code=EXIT_USAGE)


class ExportFormat(str, Enum):
    sh = "sh"
    fish = "fish"
    powershell = "powershell"
    json = "json"
    dotenv = "dotenv"


@app.command()
def export(
    ctx: typer.Context,
    profile: SubcommandProfileOption = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="Shell or file format to print.")
    ] = ExportFormat.sh,
    sso_session: TargetSessionOption = None,
    account: AccountOption = None,
    role: RoleOption = None,
) -> None:
    """Print the credentials for eval in a shell, or as JSON or dotenv."""
    from ssoexec.export import export_credentials

    export_credentials(
        profile or ctx.obj.profile,
        region=ctx.obj.region,
        fmt=fmt.value,
        login=ctx.obj.login,
        target=_subcommand_target(ctx, profile, sso_session, account, role),
    )


@app.command("credential-process")
def credential_process(
    ctx: typer.Context,
    profile: SubcommandProfileOption = None,
    sso_session: TargetSessionOption = None,
    account: AccountOption = None,
    role: RoleOption = None,
) -> None:
    """Print credentials as `credential_process = ssoexec credential-process -p P` wants."""
    from ssoexec.export import credential_process as print_process_json

    print_process_json(
        profile or ctx.obj.profile,
        region=ctx.obj.region,
        target=_subcommand_target(ctx, profile, sso_session, account, role),
    )


def _subcommand_target(
    ctx: typer.Context,
    profile: str | None,
    sso_session: str | None,
    account: str | None,
    role: str | None,
) -> DirectTarget | None:
    """The subcommand's own -p or target, else the one given before its name."""
    own = target_for(ctx, sso_session, account, role)
    return own if own is not None or profile is not None else ctx.obj.target


@app.command("list")
def list_profiles(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    portal: Annotated[
        bool,
        typer.Option(
            "--portal", help="List every account and role the portal offers, and their profiles."
        ),
    ] = False,
    sso_session: SsoSessionOption = None,
) -> None:
    """List the profiles: kind, account, role, SSO session, region, token state."""
    if portal:
        from ssoexec.portal_listing import list_portal

        list_portal(sso_session, as_json=as_json)
        return
    if sso_session is not None:
        raise _usage(ctx, "--sso-session goes with --portal")
    from ssoexec.listing import list_profiles as show

    show(as_json=as_json)


@app.command()
def doctor(ctx: typer.Context, profile: SubcommandProfileOption = None) -> None:
    """Explain what a command would get, and what is wrong (exit status 1 if anything)."""
    from ssoexec.doctor.report import diagnose

    raise typer.Exit(diagnose(profile or ctx.obj.profile, region=ctx.obj.region))


@app.command()
def console(
    ctx: typer.Context,
    profile: SubcommandProfileOption = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region of the console page (as the main one).")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", help="Open this service's console: s3, ec2, lambda..."),
    ] = None,
    destination: Annotated[
        str | None, typer.Option("--destination", help="Open this console URL.")
    ] = None,
    print_url: Annotated[
        bool,
        typer.Option("--print", help="Print the URL (a credential for 15 minutes); no browser."),
    ] = False,
    portal: Annotated[
        bool,
        typer.Option(
            "--portal", help="Open IAM Identity Center's shortcut link (SSO profiles; no keys)."
        ),
    ] = False,
    duration: Annotated[
        str | None,
        typer.Option("--duration", help="Console session length, 15m to 12h (SSO profiles)."),
    ] = None,
    sso_session: TargetSessionOption = None,
    account: AccountOption = None,
    role: RoleOption = None,
) -> None:
    """Open the AWS console as the profile's role, in the browser."""
    from ssoexec.console import ConsoleRequest, open_console
    from ssoexec.console_urls import parse_duration

    if service and destination:
        raise _usage(ctx, "give --service or --destination, not both")
    open_console(
        ConsoleRequest(
            profile_name=profile or ctx.obj.profile,
            region=region or ctx.obj.region,
            service=service,
            destination=destination,
            print_url=print_url,
            portal=portal,
            duration=parse_duration(duration) if duration is not None else None,
            login=ctx.obj.login,
            target=_subcommand_target(ctx, profile, sso_session, account, role),
        )
    )


@app.command()
def configure(
    start_url: Annotated[str | None, typer.Option("--start-url", help="SSO start URL.")] = None,
    sso_region: Annotated[
        str | None, typer.Option("--sso-region", help="Region of the SSO instance.")
    ] = None,
    sso_session: Annotated[
        str | None, typer.Option("--sso-session", help="Name of the [sso-session] to write.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Default region of the new profiles.")
    ] = None,
    profile_template: Annotated[
        str,
        typer.Option(
            "--profile-template",
            help="Profile names: {account_name}, {account_id}, {role_name}, {sso_session}.",
        ),
    ] = "{account_name}-{role_name}",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Also update profiles that already exist.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove the profiles configure wrote whose role the portal no longer lists.",
        ),
    ] = False,
) -> None:
    """Write an [sso-session] and a profile for every account and role you may use."""
    from ssoexec.configure import configure as run_configure

    ask = typer.prompt if sys.stdin.isatty() else None
    run_configure(
        start_url=start_url,
        sso_region=sso_region,
        sso_session=sso_session,
        region=region,
        profile_template=profile_template,
        dry_run=dry_run,
        update=update,
        ask=ask,
        prune=prune,
    )


agent_app = typer.Typer(
    help="The agent: role credentials held in memory for warm runs (start, stop, status)."
)
app.add_typer(agent_app, name="agent")


@agent_app.callback(invoke_without_command=True)
def agent(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        raise _usage(ctx, "agent needs one of start, stop, status")


@agent_app.command("start")
def agent_start() -> None:
    """Start the agent (detached), unless one runs already."""
    from ssoexec.agent.control import start

    pid, path, started = start()
    say(f"agent {'started' if started else 'already running'}: pid {pid}, socket {path}")


@agent_app.command("stop")
def agent_stop() -> None:
    """Stop the agent; what it held is gone with it."""
    from ssoexec.agent.control import stop

    say("agent stopped" if stop() else "no agent is running")


@agent_app.command("status")
def agent_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """What the agent holds (profiles, minutes left; never a secret). Exit status 3: none."""
    from ssoexec.agent.control import status
    from ssoexec.agent.show import render_status

    answer = status()
    sys.stdout.write(render_status(answer, as_json=as_json))
    if answer is None:
        say("no agent is running")
        raise typer.Exit(3)
