"""The one exception type domain code raises, and the exit statuses it maps to (as env(1))."""

from __future__ import annotations

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
