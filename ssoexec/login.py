"""Signing in to an SSO session: which flow, the Authorization Code + PKCE flow itself, and
the token saved where the AWS CLI keeps it.

Both flows (the device code one is device_flow's) end in the AWS CLI's token file
(~/.aws/sso/cache/<sha1>.json) and reuse its client registration (registration.py), so
`aws sso login` and `ssoexec login` are interchangeable. The caller holds the session's lock
(sso_token.session_lock): one sign-in at a time per session. What the person sees while it
waits is progress.py's; signing out is signout.py's (both importable from here).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import string
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from ssoexec import clients
from ssoexec.coredump import forbid_core_dumps
from ssoexec.device_flow import device_flow
from ssoexec.errors import SsoexecError
from ssoexec.files import read_regular_file
from ssoexec.loopback import Listener
from ssoexec.profile import DEFAULT_SCOPES, SsoSession
from ssoexec.progress import Opener, Progress, denied, launch_browser
from ssoexec.registration import registration, registration_path
from ssoexec.signout import sign_out, sign_out_all
from ssoexec.sso_token import login_command
from ssoexec.terminal import say
from ssoexec.timestamps import minutes_left
from ssoexec.token_cache import AccessToken, cache_path, why_not_written, write_token

__all__ = [
    "authorize_url",
    "browser_on_this_machine",
    "is_wsl",
    "local_browser",
    "opener",
    "pkce_pair",
    "registration_path",
    "sign_in",
    "sign_out",
    "sign_out_all",
    "windows_browser",
]

PKCE_TIMEOUT = 600.0  # seconds the AWS CLI waits for the browser
_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"


def sign_in(
    session: SsoSession,
    aws: clients.Aws,
    *,
    device_code: bool = False,
    open_browser: bool = True,
    profile_name: str | None = None,
) -> AccessToken:
    """Sign in (PKCE where a local browser can reach us, else device code, or device code
    when asked or when the session's ssoexec_device_code says so); write the token."""
    forbid_core_dumps()  # it holds the client secret and the tokens while it waits
    browser = local_browser()
    browser_here = browser is not None
    use_device = device_code or session.device_code or not session.refreshable or not browser_here
    open_browser = open_browser and browser_here  # never a console browser over our output
    flow = "a device code" if use_device else "the browser (PKCE)"
    say(f"signing in to {session} at {session.start_url} with {flow}")
    again = login_command(session, profile_name)
    client = aws.oidc(session.region)
    over = threading.Event()  # a browser failing after this is no news
    open_link = opener(browser, over) if open_browser else None
    flow = device_flow if use_device else _pkce_flow
    try:
        with clients.translate_errors("signing in to AWS SSO"):
            token = flow(client, session, open_link, again)
    finally:
        over.set()
    path = cache_path(session.cache_key)
    try:
        write_token(path, token)
    except OSError as error:
        raise SsoexecError(
            f"signed in to {session}, but the token could not be saved: "
            + why_not_written(path.parent, error),
            f"fix that, then run `{again}` again",
        ) from None
    minutes = minutes_left(token.expires_at)
    say(f"signed in to {session}; the token is valid for {minutes} min")
    return token


def browser_on_this_machine() -> bool:
    """Whether a browser opened from here runs on this machine, so that it can reach a
    listener on 127.0.0.1."""
    return local_browser() is not None


WEBBROWSER = "webbrowser"  # local_browser's answer for Python's webbrowser (it honours BROWSER)


def local_browser() -> str | None:
    """How a link opens in a browser that runs on this machine: WEBBROWSER, or under WSL the
    path of the program that opens the Windows browser; None where no browser can reach
    127.0.0.1: over SSH, inside a container, on a Linux box without a display (where
    webbrowser would start a console browser in our terminal)."""
    if os.environ.get("BROWSER"):
        return WEBBROWSER  # the user named the browser to use
    if any(os.environ.get(v) for v in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        return None
    if sys.platform.startswith("linux") and (windows := windows_browser()) is not None:
        return windows  # a container on WSL's kernel has no Windows interop: no launcher
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return None
    if sys.platform.startswith("linux"):
        return (
            WEBBROWSER if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else None
        )
    return WEBBROWSER


def opener(browser: str | None, over: threading.Event) -> Opener:
    """What opens the sign-in link in `browser` (local_browser's), in the background. Once the
    sign-in is `over`, a browser that failed is no news."""
    if browser == WEBBROWSER:
        return lambda url: launch_browser(url, over)
    if browser is not None:
        return lambda url: _launch_windows_browser(browser, url, over)
    return None


# WSL: Linux whose browser is Windows'. WSL 2 forwards Windows' 127.0.0.1 to the Linux side,
# so the Windows browser reaches the loopback listener.


def is_wsl(release: str, environ: Mapping[str, str]) -> bool:
    """Whether this is Linux under WSL, from the kernel's release string
    (/proc/sys/kernel/osrelease, "...-microsoft-standard-WSL2") and the environment."""
    return "microsoft" in release.lower() or bool(environ.get("WSL_DISTRO_NAME"))


def windows_browser() -> str | None:
    """Under WSL (local_browser asks on Linux only), the program that opens a link in the
    Windows browser: `wslview` (wslu) if it is on PATH, else `explorer.exe`; None elsewhere,
    or when neither is found."""
    try:
        release = read_regular_file(Path("/proc/sys/kernel/osrelease"), limit=4096)
    except OSError:
        release = b""
    if not is_wsl(release.decode("ascii", "replace"), os.environ):
        return None
    return shutil.which("wslview") or shutil.which("explorer.exe")


def _launch_windows_browser(program: str, url: str, over: threading.Event) -> None:
    """`program URL` in the background, its output kept off ours (stdout is the command's).
    explorer.exe exits 1 even when it opened the page, so only wslview's status counts."""

    def run() -> None:
        try:
            status = subprocess.run(
                [program, url],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                check=False,
            ).returncode
        except OSError:
            status = None
        failed = status is None or (status != 0 and Path(program).name == "wslview")
        if failed and not over.is_set():
            say("could not open a browser: open the link above yourself")

    threading.Thread(target=run, daemon=True).start()


# Authorization code + PKCE


def authorize_url(
    oidc_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    challenge: str,
    scopes: list[str],
) -> str:
    """The AWS CLI's authorize URL: the OIDC endpoint's host, these parameters in this order."""
    base = urlsplit(oidc_endpoint)
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge_method", "S256"),
        ("scopes", " ".join(scopes)),
        ("code_challenge", challenge),
    ]
    query = "&".join(f"{k}={quote(v, safe='-._~')}" for k, v in params)
    return f"{base.scheme}://{base.netloc}/authorize?{query}"


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256 challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def pkce_pair() -> tuple[str, str]:
    """(code verifier, S256 challenge) as RFC 7636 and the AWS CLI make them."""
    verifier = "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(64))
    return verifier, pkce_challenge(verifier)


def _pkce_flow(client, session: SsoSession, open_browser: Opener, again: str) -> AccessToken:
    client_registration = registration(client, session, pkce=True)
    verifier, challenge = pkce_pair()
    state = str(uuid.uuid4())
    with Listener(state) as listener:  # bound before the browser opens
        url = authorize_url(
            client.meta.endpoint_url,
            client_id=client_registration.client_id,
            redirect_uri=listener.redirect_uri,
            state=state,
            challenge=challenge,
            scopes=list(session.scopes or DEFAULT_SCOPES),
        )
        say(f"sign in at: {url}")
        if open_browser:
            open_browser(url)
        deadline = time.monotonic() + PKCE_TIMEOUT
        with Progress("waiting for the browser", deadline) as progress:
            callback = None
            while callback is None:
                left = progress.tick()
                if left <= 0:
                    raise SsoexecError(
                        f"gave up waiting for the browser to finish signing in to {session}",
                        f"run `{again}` again and complete the sign-in in the browser",
                    )
                callback = listener.wait(timeout=left)
                if listener.wrong_state_seen.is_set():
                    listener.wrong_state_seen.clear()
                    progress.say("ignored a browser callback that is not from this sign-in")
        if callback.error or not callback.code:
            listener.finish(False)
            raise denied(session, again, callback.error)
        try:
            response = client_registration.create_token(
                client,
                "authorization_code",
                code=callback.code,
                redirectUri=listener.redirect_uri,
                codeVerifier=verifier,
            )
        except client.exceptions.InvalidGrantException:
            listener.finish(False)
            raise SsoexecError(
                f"sign-in to {session} failed: AWS refused the authorization code (it was "
                "not issued for this sign-in)",
                f"run `{again}` again, and use only the link it prints",
            ) from None
        except BaseException:
            listener.finish(False)
            raise
        listener.finish(True)
        return client_registration.token(session, response)
