"""What the person sees while a sign-in waits: the browser opened for them, a countdown on
stderr, and the two ways a waiting sign-in ends badly (denied, expired). And the progress of
a long listing of the portal (Tally)."""

from __future__ import annotations

import sys
import threading
import time
import webbrowser
from collections.abc import Callable

from ssoexec.errors import SsoexecError
from ssoexec.profile import SsoSession
from ssoexec.terminal import say

Opener = Callable[[str], None] | None  # opens a URL in the browser; None: only print it


def launch_browser(url: str, over: threading.Event) -> None:
    """In the background: a BROWSER command may not return until the page is done. Once the
    sign-in is `over`, a browser that failed is not worth a word."""

    def run() -> None:
        try:
            opened = webbrowser.open_new_tab(url)
        except Exception:  # no browser is not an error: the link is printed
            opened = False
        if not opened and not over.is_set():
            say("could not open a browser: open the link above yourself")

    threading.Thread(target=run, daemon=True).start()


class Progress:
    """Waiting, shown on stderr: a live countdown on a terminal, else one line a minute."""

    def __init__(self, what: str, deadline: float) -> None:
        self.what = what
        self.deadline = deadline
        self.live = sys.stderr.isatty()
        self._last_line = 0.0

    def __enter__(self) -> Progress:
        self._show()
        return self

    def __exit__(self, *_: object) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def tick(self) -> float:
        """Seconds to wait before the next look (at most 1), or 0 when the time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return 0.0
        self._show()
        return min(1.0, left)

    def sleep(self, seconds: float) -> bool:
        """Sleep, showing progress; False if the time ran out first."""
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < end:
            step = self.tick()
            if step <= 0:
                return False
            time.sleep(min(step, end - now))
        return True

    def say(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
        say(text)

    def _show(self) -> None:
        left = max(0, int(self.deadline - time.monotonic()))
        text = f"ssoexec: {self.what} ({left // 60}:{left % 60:02d} left, Ctrl-C to cancel)"
        if self.live:
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()
        elif time.monotonic() - self._last_line >= 60:
            print(text, file=sys.stderr, flush=True)
            self._last_line = time.monotonic()


class Tally:
    """A listing's progress on stderr, one line updated in place: only on a terminal, and
    only once the listing has taken more than a second. Gone when the listing ends."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.start = time.monotonic()
        self.shown = False

    def __enter__(self) -> Tally:
        return self

    def __exit__(self, *_: object) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def show(self, read: int, accounts: int, roles: int, *, all_listed: bool = True) -> None:
        """`read` of `accounts` accounts read, `roles` roles found; until `all_listed`, more
        accounts may come."""
        elapsed = time.monotonic() - self.start
        if not self.live or elapsed < 1.0:
            return
        more = "" if all_listed else "+"
        text = (
            f"ssoexec: listing the portal: {read} of {accounts}{more} accounts read, "
            f"{roles} role(s) found, {int(elapsed)}s"
        )
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()
        self.shown = True


def denied(session: SsoSession, again: str, error: str | None = None) -> SsoexecError:
    said = f" ({error})" if error and error != "access_denied" else ""
    return SsoexecError(
        f"sign-in to {session} was denied in the browser{said}",
        f"run `{again}` again and choose Allow",
    )


def expired(session: SsoSession, again: str) -> SsoexecError:
    return SsoexecError(
        f"the sign-in request for {session} expired before it was approved",
        f"run `{again}` again and approve it within the time shown",
    )
