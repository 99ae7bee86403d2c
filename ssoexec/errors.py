"""The one exception type domain code raises, the exit statuses it maps to (as env(1)), and
the one place where an error becomes its two lines on stderr and its exit status."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import NoReturn

from ssoexec.terminal import shorten

EXIT_FAILURE = 125  # ssoexec failed before running anything
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class SsoexecError(Exception):
    """A failure the user can act on: one line of what went wrong, one line of what to do next."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(SsoexecError):
    """The AWS config names something missing, conflicting or malformed."""


class LoginRequired(SsoexecError):
    """No usable SSO token: missing, expired, or refused by the portal."""


class AwsCallError(SsoexecError):
    """An AWS call failed after botocore's retries (network, throttling, 5xx, refusal)."""


class CommandError(SsoexecError):
    """The command to run could not be started."""


def exit_on_error(call: Callable[[], object]) -> NoReturn:
    """Call, then exit; an error becomes two lines on stderr and its exit status, once."""
    try:
        status = call()
    except SsoexecError as error:
        report(error.message, error.hint)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:
        if logging.getLogger("ssoexec").isEnabledFor(logging.DEBUG):
            import traceback  # only here: a traceback is shown with --debug alone

            traceback.print_exc()
        report(
            f"unexpected {type(error).__name__}",
            "run again with --debug for the traceback, and report it",
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(status if isinstance(status, int) else 0)


def report(message: str, hint: str) -> None:
    """The two lines of a failure, made printable (they may quote AWS's words or a file's) and
    cut to a sane length (a value quoted whole could be megabytes)."""
    print(f"ssoexec: error: {shorten(' '.join(message.split()), _LONGEST)}", file=sys.stderr)
    print(f"hint: {shorten(' '.join(hint.split()), _LONGEST)}", file=sys.stderr, flush=True)


_LONGEST = 1000  # characters of a message or hint
