"""Credentials -> text for a shell to eval, a file, or an SDK's credential_process.

`ssoexec export` prints what `ssoexec -- COMMAND` would put into COMMAND's environment (SPEC
§5), so that `eval "$(ssoexec -p dev export)"` leaves the shell as the exec'd child would see
it: the set variables, and the removal of the ones the child would not have. `render` is the
pure part: one quoting rule per format.

`ssoexec credential-process` prints the Version 1 JSON that botocore and the other SDKs read
from a `credential_process` (aws-protocol.md §7.4). It never signs in: an SDK runs it with no
one to answer a browser, and a stale token must fail at once with the command to run.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from ssoexec import credential_json, environment
from ssoexec.credential_json import PROFILE_CHAIN, profile_chain
from ssoexec.errors import ConfigError, SsoexecError
from ssoexec.plan import child_env, difference, plan_for_keys
from ssoexec.resolve import resolve
from ssoexec.terminal import printable, shorten

if TYPE_CHECKING:
    from ssoexec.direct import DirectTarget

# What ssoexec sets in the child, in the order they are printed.
SET_VARIABLES = (
    environment.ACCESS_KEY_ID,
    environment.SECRET_ACCESS_KEY,
    environment.SESSION_TOKEN,
    environment.CREDENTIAL_EXPIRATION,
    environment.REGION,
    environment.DEFAULT_REGION,
    environment.SSOEXEC_PROFILE,
    environment.SSOEXEC_EXPIRATION,
)


def export_credentials(
    profile_name: str,
    *,
    region: str | None,
    fmt: str,
    login: str = "auto",
    target: DirectTarget | None = None,
) -> None:
    """Print the profile's (or `target`'s) credentials as `fmt` on stdout: what a run would
    give its command."""
    plan = plan_for_keys(os.environ, profile_name=profile_name, region=region, target=target)
    resolved = resolve(plan, os.environ, login=login)
    child = child_env(
        resolved.plan, os.environ, region=resolved.region.name, credentials=resolved.credentials
    )
    variables, removed = changes(os.environ, child)
    if sys.stdout.isatty():
        chosen = target.options() if target else f"-p {shlex.quote(profile_name)}"
        print(terminal_warning(chosen, fmt), file=sys.stderr, flush=True)
    sys.stdout.write(render(variables, removed, fmt))
    sys.stdout.flush()


def changes(parent: Mapping[str, str], child: Mapping[str, str]) -> tuple[dict, list]:
    """(variables to set, variables to remove) to turn `parent` into `child`.

    Removed: what the parent has and the child lacks (AWS_PROFILE, stale keys...), and every
    variable ssoexec may set that the child lacks this time (AWS_SESSION_TOKEN for static
    keys), in case the shell has it unexported or from an earlier export.
    """
    variables = {name: child[name] for name in SET_VARIABLES if name in child}
    gone = set(difference(parent, child)[1])
    gone.update(name for name in SET_VARIABLES if name not in child)
    return variables, sorted(gone)


def render(variables: Mapping[str, str], removed: list[str], fmt: str) -> str:
    """The text for `fmt`: removals first, then the variables, so that a shell's status after
    eval or source is the last assignment's (fish's `set -e` of an unset name fails)."""
    if fmt == "json":
        return json.dumps(dict(variables), indent=2) + "\n"
    if fmt == "dotenv":
        return "".join(f"{name}={dotenv_quote(value)}\n" for name, value in variables.items())
    unset, assign = _SHELLS[fmt]
    lines = [unset.format(name=name) for name in removed]
    lines += [
        assign.format(name=name, value=quote(value, fmt)) for name, value in variables.items()
    ]
    return "".join(line + "\n" for line in lines)


_SHELLS = {
    "sh": ("unset {name}", "export {name}={value}"),
    "fish": ("set -e {name}", "set -gx {name} {value}"),
    "powershell": (
        "Remove-Item Env:{name} -ErrorAction SilentlyContinue",
        "$Env:{name} = {value}",
    ),
}

# PowerShell also takes the typographic single quotes as quotes (and doubles them alike).
_POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"


def quote(value: str, fmt: str) -> str:
    """`value` as one single-quoted word of the shell `fmt`, read back exactly."""
    if fmt == "sh":  # POSIX: nothing is special inside '...'; a ' ends it, so '\'' puts one in
        return "'" + value.replace("'", "'\\''") + "'"
    if fmt == "fish":  # inside '...' fish reads \\ and \' as escapes, and nothing else
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if fmt == "powershell":  # inside '...' only a doubled quote is special
        return "'" + "".join(c * 2 if c in _POWERSHELL_QUOTES else c for c in value) + "'"
    raise ValueError(f"not a shell format: {fmt!r}")


_DOTENV_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:+=@,-")
# Special to sh inside double quotes (python-dotenv reads backslash escapes and ${NAME} there).
_SH_DOUBLE_QUOTED = frozenset('$`\\"')


def dotenv_quote(value: str) -> str:
    """A dotenv value that sourcing in sh or bash (`set -a; . ./.env`) reads as python-dotenv
    does, and that runs nothing: bare when every character is a letter, digit or one of
    `_./:+=@,-` (every key, token, timestamp and region is, and docker's --env-file reads those
    alike); else in single quotes, where sh expands nothing (python-dotenv reads `\\\\` and
    `\\'` as escapes there, so not with those); else in double quotes when nothing in it is
    special to sh there. A value that fits none (a `'` with `$` or a backslash, say), or has
    `${` (which python-dotenv expands even in single quotes), is refused: there is no way to
    write it that both read alike."""
    if set(value) <= _DOTENV_BARE:
        return value
    if "${" in value:  # python-dotenv expands ${NAME} in every kind of value
        return _not_in_dotenv(value)
    if "'" not in value and "\\\\" not in value and not value.endswith("\\"):
        return f"'{value}'"
    if not set(value) & _SH_DOUBLE_QUOTED:
        return f'"{value}"'
    return _not_in_dotenv(value)


def _not_in_dotenv(value: str) -> NoReturn:
    raise SsoexecError(
        f"the value {shorten(value)!r} cannot be written to a dotenv file that sh and "
        "python-dotenv read alike (its quotes, backslashes or ${ defeat every kind of quoting)",
        "use --format sh or --format json, or a profile name without such characters",
    )


def terminal_warning(chosen: str, fmt: str) -> str:
    """`chosen`: the options that name the profile or role (`-p dev`), shell-quoted."""
    command = f"ssoexec {chosen} export"
    use = {
        "sh": f'eval "$({command})"',
        "fish": f"{command} --format fish | source",
        "powershell": f"{command} --format powershell | Invoke-Expression",
    }.get(fmt, f"{command} --format {fmt} > FILE")
    return printable(
        "ssoexec: warning: these are live credentials, printed on your screen; "
        f"to load them into your shell instead: {use}"
    )


def credential_process(
    profile_name: str, *, region: str | None, target: DirectTarget | None = None
) -> None:
    """Print the Version 1 credential_process JSON for the profile (or `target`, which names
    no profile and so cannot loop back to itself); never signs in."""
    if target is None:
        enter_profile_chain(profile_name)
    plan = plan_for_keys(os.environ, profile_name=profile_name, region=region, target=target)
    credentials = resolve(plan, os.environ, login="never").credentials
    sys.stdout.write(credential_json.version1(credentials))
    sys.stdout.flush()


def enter_profile_chain(profile_name: str) -> None:
    """Add the profile to the chain the credential_process calls below this one inherit, or
    fail if an ssoexec above is already resolving it (a loop through credential_process)."""
    chain = profile_chain(os.environ)
    if profile_name in chain:
        loop = " -> ".join([*chain, profile_name])
        raise ConfigError(
            f"profile {shorten(profile_name)!r} runs `ssoexec credential-process` for itself, "
            f"through credential_process: {loop}",
            "point credential_process at a profile with SSO settings "
            "(e.g. `credential_process = ssoexec credential-process -p dev`), "
            "not back at the profile that uses it",
        )
    os.environ[PROFILE_CHAIN] = json.dumps([*chain, profile_name])
