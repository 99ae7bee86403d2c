"""Signing in to an SSO session: Authorization Code + PKCE, or the device code flow.

Both end in the AWS CLI's token file (~/.aws/sso/cache/<sha1>.json) and reuse its client
registration file, so `aws sso login` and `ssoexec login` are interchangeable. The caller holds
the session's lock (sso_token.session_lock): one sign-in at a time per session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import string
import sys
import threading
import time
import uuid
import webbrowser
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from ssoexec import clients
from ssoexec.coredump import forbid_core_dumps
from ssoexec.errors import ConfigError, SsoexecError
from ssoexec.profile import DEFAULT_SCOPES, SsoSession
from ssoexec.sso_token import (
    AccessToken,
    cache_dir,
    cache_path,
    login_command,
    read_cache_json,
    token_file_lock,
    why_not_written,
    write_private_json,
    write_token,
)
from ssoexec.terminal import say as _say
from ssoexec.timestamps import format_timestamp, from_epoch, parse_timestamp, utcnow

PKCE_GRANTS = ["authorization_code", "refresh_token"]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REGISTRATION_MARGIN = timedelta(minutes=15)  # as the AWS CLI: re-register this close to expiry
PKCE_TIMEOUT = 600.0  # seconds the AWS CLI waits for the browser
_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"

Opener = Callable[[str], None] | None  # opens a URL in the browser; None: only print it


def sign_in(
    session: SsoSession,
    *,
    device_code: bool = False,
    open_browser: bool = True,
    profile_name: str | None = None,
) -> AccessToken:
    """Sign in (PKCE where a local browser can reach us, else device code); write the token."""
    forbid_core_dumps()  # it holds the client secret and the tokens while it waits
    browser_here = browser_on_this_machine()
    use_device = device_code or not session.refreshable or not browser_here
    open_browser = open_browser and browser_here  # never a console browser over our output
    flow = "a device code" if use_device else "the browser (PKCE)"
    _say(f"signing in to {session} at {session.start_url} with {flow}")
    again = login_command(session, profile_name)
    client = clients.oidc(session.region)
    over = threading.Event()  # a browser failing after this is no news
    opener = (lambda url: _open_browser(url, over)) if open_browser else None
    flow = _device_flow if use_device else _pkce_flow
    try:
        with clients.translate_errors("signing in to AWS SSO"):
            token = flow(client, session, opener, again)
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
    minutes = int((token.expires_at - utcnow()).total_seconds() // 60)
    _say(f"signed in to {session}; the token is valid for {minutes} min")
    return token


def browser_on_this_machine() -> bool:
    """Whether a browser opened from here runs on this machine, so that it can reach a
    listener on 127.0.0.1: not over SSH, not inside a container, not on a Linux box without
    a display (where webbrowser would start a console browser in our terminal)."""
    if os.environ.get("BROWSER"):
        return True  # the user named the browser to use
    if any(os.environ.get(v) for v in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        return False
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


# Client registration, shared with the AWS CLI


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str
    expires_at: datetime


def registration_path(session: SsoSession) -> Path:
    """The AWS CLI's registration cache name (CLI >= 2.7.32), in the token cache directory."""
    key = {
        "tool": "botocore",
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": list(session.scopes) if session.scopes is not None else None,
        "session_name": session.name,
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()  # noqa: S324
    return cache_dir() / f"{digest}.json"


def _registration(client, session: SsoSession, *, pkce: bool) -> Registration:
    """The cached registration if still valid for this flow, else a new one (cached)."""
    path = registration_path(session)
    try:
        cached = _cached_registration(path, pkce=pkce)
    except (ConfigError, ValueError) as error:
        why = error.message if isinstance(error, ConfigError) else f"{path}: {error}"
        _say(f"registering anew: the cached client registration is unusable ({why})")
        cached = None
    if cached is not None:
        return cached
    name = f"ssoexec-{session.name or int(time.time())}"
    record: dict = {}
    if pkce:
        scopes = list(session.scopes or DEFAULT_SCOPES)
        response = client.register_client(
            clientName=name,
            clientType="public",
            grantTypes=PKCE_GRANTS,
            redirectUris=["http://127.0.0.1/oauth/callback"],
            issuerUrl=session.start_url,
            scopes=scopes,
        )
        record = {"scopes": scopes, "grantTypes": PKCE_GRANTS}
    elif session.scopes:
        response = client.register_client(
            clientName=name, clientType="public", scopes=list(session.scopes)
        )
        record = {"scopes": list(session.scopes)}
    else:
        response = client.register_client(clientName=name, clientType="public")
    registration = Registration(
        response["clientId"],
        response["clientSecret"],
        from_epoch(response["clientSecretExpiresAt"]),
    )
    data = {
        "clientId": registration.client_id,
        "clientSecret": registration.client_secret,
        "expiresAt": format_timestamp(registration.expires_at),
        **record,
    }
    with suppress(OSError):  # only a cache: the next sign-in registers again
        write_private_json(path, data)
    return registration


def _cached_registration(path: Path, *, pkce: bool) -> Registration | None:
    """The registration cached in `path` if still good for this flow; None if there is none
    or it is stale. Raises ValueError (ConfigError) naming what is malformed in it."""
    try:
        cached = read_cache_json(path, "the client registration cache")
    except FileNotFoundError:
        return None
    except ValueError:
        raise ValueError("it is not valid JSON") from None
    if not isinstance(cached, dict):
        raise ValueError("it is not a JSON object")
    for key in ("clientId", "clientSecret", "expiresAt"):
        if not isinstance(cached.get(key), str) or not cached[key]:
            raise ValueError(f"its {key} is missing or not a string")
    grants = cached.get("grantTypes") or []
    if not isinstance(grants, list):
        raise ValueError("its grantTypes is not a list")
    expires = parse_timestamp(cached["expiresAt"])
    if ("authorization_code" in grants) != pkce or expires - utcnow() <= REGISTRATION_MARGIN:
        return None
    return Registration(cached["clientId"], cached["clientSecret"], expires)


def _token(session: SsoSession, registration: Registration, response: dict) -> AccessToken:
    return AccessToken(
        start_url=session.start_url,
        region=session.region,
        access_token=response["accessToken"],
        expires_at=utcnow() + timedelta(seconds=int(response["expiresIn"])),
        client_id=registration.client_id,
        client_secret=registration.client_secret,
        registration_expires_at=registration.expires_at,
        refresh_token=response.get("refreshToken"),
    )


# Device code


def _device_flow(client, session: SsoSession, open_browser: Opener, again: str) -> AccessToken:
    registration = _registration(client, session, pkce=False)
    auth = client.start_device_authorization(
        clientId=registration.client_id,
        clientSecret=registration.client_secret,
        startUrl=session.start_url,
    )
    code, url = auth["userCode"], auth.get("verificationUriComplete") or auth["verificationUri"]
    _say(f"open {url} and check that it shows the code {code}")
    if open_browser:
        open_browser(url)
    interval = max(int(auth.get("interval") or 5), 1)
    deadline = time.monotonic() + int(auth.get("expiresIn") or 600)
    with _Progress(f"waiting for approval of code {code}", deadline) as progress:
        while True:
            if not progress.sleep(interval):
                raise _expired(session, again)
            try:
                response = client.create_token(
                    grantType=DEVICE_GRANT,
                    clientId=registration.client_id,
                    clientSecret=registration.client_secret,
                    deviceCode=auth["deviceCode"],
                )
                return _token(session, registration, response)
            except client.exceptions.AuthorizationPendingException:
                continue
            except client.exceptions.SlowDownException:
                interval += 5
            except client.exceptions.ExpiredTokenException:
                raise _expired(session, again) from None
            except client.exceptions.AccessDeniedException:
                raise _denied(session, again) from None


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
    from ssoexec.loopback import Listener

    registration = _registration(client, session, pkce=True)
    verifier, challenge = pkce_pair()
    state = str(uuid.uuid4())
    with Listener(state) as listener:  # bound before the browser opens
        url = authorize_url(
            client.meta.endpoint_url,
            client_id=registration.client_id,
            redirect_uri=listener.redirect_uri,
            state=state,
            challenge=challenge,
            scopes=list(session.scopes or DEFAULT_SCOPES),
        )
        _say(f"sign in at: {url}")
        if open_browser:
            open_browser(url)
        deadline = time.monotonic() + PKCE_TIMEOUT
        with _Progress("waiting for the browser", deadline) as progress:
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
            raise _denied(session, again, callback.error)
        try:
            response = client.create_token(
                grantType="authorization_code",
                clientId=registration.client_id,
                clientSecret=registration.client_secret,
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
        return _token(session, registration, response)


# Talking to the person


def _open_browser(url: str, over: threading.Event) -> None:
    """In the background: a BROWSER command may not return until the page is done. Once the
    sign-in is `over`, a browser that failed is not worth a word."""

    def run() -> None:
        try:
            opened = webbrowser.open_new_tab(url)
        except Exception:  # no browser is not an error: the link is printed
            opened = False
        if not opened and not over.is_set():
            _say("could not open a browser: open the link above yourself")

    threading.Thread(target=run, daemon=True).start()


class _Progress:
    """Waiting, shown on stderr: a live countdown on a terminal, else one line a minute."""

    def __init__(self, what: str, deadline: float) -> None:
        self.what = what
        self.deadline = deadline
        self.live = sys.stderr.isatty()
        self._last_line = 0.0

    def __enter__(self) -> _Progress:
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
        _say(text)

    def _show(self) -> None:
        left = max(0, int(self.deadline - time.monotonic()))
        text = f"ssoexec: {self.what} ({left // 60}:{left % 60:02d} left, Ctrl-C to cancel)"
        if self.live:
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()
        elif time.monotonic() - self._last_line >= 60:
            print(text, file=sys.stderr, flush=True)
            self._last_line = time.monotonic()


def _denied(session: SsoSession, again: str, error: str | None = None) -> SsoexecError:
    said = f" ({error})" if error and error != "access_denied" else ""
    return SsoexecError(
        f"sign-in to {session} was denied in the browser{said}",
        f"run `{again}` again and choose Allow",
    )


def _expired(session: SsoSession, again: str) -> SsoexecError:
    return SsoexecError(
        f"the sign-in request for {session} expired before it was approved",
        f"run `{again}` again and approve it within the time shown",
    )


# Signing out


def sign_out(session: SsoSession) -> bool:
    """Log the session's token out of the portal, then delete the token file (the client
    registration stays, as with `aws sso logout`). False when there was no token."""
    return _sign_out_file(cache_path(session.cache_key))


def sign_out_all() -> tuple[int, int]:
    """Every token in the cache, as `aws sso logout` does: (signed out, failed). A token that
    cannot be signed out of is reported and kept, and the others are still signed out."""
    done = failed = 0
    for path in sorted(cache_dir().glob("*.json")):
        try:
            done += _sign_out_file(path)
        except SsoexecError as error:
            failed += 1
            _say(f"error: could not sign out: {error.message}")
            print(f"hint: {error.hint}", file=sys.stderr, flush=True)
    return done, failed


def _sign_out_file(path: Path) -> bool:
    with token_file_lock(path):
        try:
            data = read_cache_json(path)
        except FileNotFoundError:
            return False
        except ValueError:
            data = None  # not JSON: not a token file of ours to judge
        if not isinstance(data, dict) or "accessToken" not in data:
            return False  # a client registration, or not ours to judge
        try:
            token = AccessToken.from_cache(data)
        except ValueError as error:
            raise ConfigError(
                f"the SSO token cache {path} is unusable: {error}",
                f"it is kept; delete it yourself if it is no longer needed: {path}",
            ) from None
        what = token.start_url or path.name
        if token.region:
            _portal_logout(token.region, token.access_token, what)
        path.unlink(missing_ok=True)
        _say(f"signed out of {what}")
        return True


def _portal_logout(region: str, access_token: str, what: str) -> None:
    client = clients.sso(region)
    try:
        # An already expired or revoked token (401) has nothing left to end.
        with (
            clients.translate_errors("AWS SSO Logout"),
            suppress(client.exceptions.UnauthorizedException),
        ):
            client.logout(accessToken=access_token)
    except SsoexecError as error:
        _say(
            f"warning: {error.message}; the token for {what} is deleted here but AWS may "
            "honour it until it expires"
        )
