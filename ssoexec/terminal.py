"""Text on the user's terminal: ssoexec's own lines on stderr, and outside text made safe.

Text that came from outside (AWS error messages, account names, file contents, values the
user typed) is printed only through `printable`: an escape sequence in it could retitle the
terminal, clear it or worse. Long values are `shorten`ed: a 1 MB value is not echoed whole.
"""

from __future__ import annotations

import re
import sys

# C0 and C1 control characters and DEL; tabs and newlines too, since every message is one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHORT = 80  # characters of an outside value worth echoing in a message


def printable(text: object) -> str:
    """`text` with every control character replaced by `?`: safe to print on a terminal."""
    return _CONTROL.sub("?", str(text))


def shorten(text: object, limit: int = SHORT) -> str:
    """`text` made printable, and cut to about `limit` characters with a note of what was cut."""
    text = printable(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text) - limit} more characters)"


def say(text: str) -> None:
    """One line of ssoexec's own on stderr (never stdout, which belongs to the command)."""
    print(f"ssoexec: {printable(text)}", file=sys.stderr, flush=True)
