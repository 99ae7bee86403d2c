"""A stand-in for a web browser, for BROWSER=... in login tests: `browser.py URL`.

It appends URL to $BROWSER_LOG, then, by $BROWSER_MODE:
  follow (default)  GET URL and follow redirects (the emulator's /authorize 302s to ssoexec's
                    loopback listener; a device page approves or denies by the emulator's knob)
  tamper            like follow, but replace the PKCE code_challenge first (a forged request)
  log               only record the URL (a browser nobody uses)
  hang              record the URL, then sleep (a browser that never comes back)
Like a real browser it also asks for /favicon.ico, and opens an idle connection first.
"""

import os
import socket
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def main() -> None:
    url = sys.argv[1]
    with open(os.environ["BROWSER_LOG"], "a") as log:
        log.write(url + "\n")
    mode = os.environ.get("BROWSER_MODE", "follow")
    if mode == "log":
        return
    if mode == "hang":
        time.sleep(3600)
    if mode == "tamper":
        parts = urlsplit(url)
        query = [(k, "A" * 43 if k == "code_challenge" else v) for k, v in parse_qsl(parts.query)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    # Browsers open speculative connections that then sit idle: one to the listener, first.
    redirect = dict(parse_qsl(urlsplit(url).query)).get("redirect_uri")
    idle = None
    if redirect:
        listener = urlsplit(redirect)
        idle = socket.create_connection((listener.hostname, listener.port))
    try:
        try:
            with urllib.request.urlopen(url, timeout=30) as page:
                body = page.read().decode()
        except urllib.error.HTTPError as error:
            body = error.read().decode()
        if redirect:
            favicon = urlunsplit(urlsplit(redirect)._replace(path="/favicon.ico", query=""))
            try:
                urllib.request.urlopen(favicon, timeout=10)
            except urllib.error.HTTPError as error:
                body += f"\nfavicon: {error.code}"
            except OSError:
                body += "\nfavicon: listener gone"  # it may close once sign-in is over
    finally:
        if idle is not None:
            idle.close()
    if os.environ.get("BROWSER_PAGES"):
        with open(os.environ["BROWSER_PAGES"], "a") as pages:
            pages.write(body + "\n")


if __name__ == "__main__":
    main()
