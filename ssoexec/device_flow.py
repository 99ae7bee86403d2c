"""Signing in with a device code: a code the person approves on any browser, anywhere; the
token is asked for every `interval` seconds until then (five more after each SlowDown)."""

from __future__ import annotations

import time

from ssoexec.profile import SsoSession
from ssoexec.progress import Opener, Progress, denied, expired
from ssoexec.registration import registration
from ssoexec.terminal import say
from ssoexec.token_cache import AccessToken

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_flow(client, session: SsoSession, open_browser: Opener, again: str) -> AccessToken:
    """The token, once the person has approved the code; `again` is the command to retry."""
    client_registration = registration(client, session, pkce=False)
    auth = client.start_device_authorization(
        clientId=client_registration.client_id,
        clientSecret=client_registration.client_secret,
        startUrl=session.start_url,
    )
    code, url = auth["userCode"], auth.get("verificationUriComplete") or auth["verificationUri"]
    say(f"open {url} and check that it shows the code {code}")
    if open_browser:
        open_browser(url)
    interval = max(int(auth.get("interval") or 5), 1)
    deadline = time.monotonic() + int(auth.get("expiresIn") or 600)
    with Progress(f"waiting for approval of code {code}", deadline) as progress:
        while True:
            if not progress.sleep(interval):
                raise expired(session, again)
            try:
                response = client_registration.create_token(
                    client, DEVICE_GRANT, deviceCode=auth["deviceCode"]
                )
                return client_registration.token(session, response)
            except client.exceptions.AuthorizationPendingException:
                continue
            except client.exceptions.SlowDownException:
                interval += 5
            except client.exceptions.ExpiredTokenException:
                raise expired(session, again) from None
            except client.exceptions.AccessDeniedException:
                raise denied(session, again) from None
