"""--server's refresher in process, with a clock that moves only when it waits: its schedule
(when served credentials are replaced) and its backoff (a failed refresh keeps serving, is
retried, reported once, and recovers), without waiting for real minutes. The end-to-end
counterparts, one short run per behaviour, are in test_server_e2e.py."""

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from ssoexec.credentials import RoleCredentials
from ssoexec.errors import SsoexecError
from ssoexec.server import BACKOFF, SDK_REFRESH_WINDOW, CredentialServer, Refresher
from ssoexec.timestamps import parse_timestamp, utcnow

START = parse_timestamp("2026-01-01T00:00:00Z")


class Clock:
    """Time stands still until the refresher waits; it is told to stop after `waits` waits."""

    def __init__(self, waits):
        self.time = START
        self.waited = []
        self.waits = waits

    def now(self):
        return self.time

    def wait(self, seconds):
        self.waited.append(seconds)
        self.time += timedelta(seconds=seconds)
        return len(self.waited) > self.waits


class Issuer:
    """fetch(): credentials for `lifetime` from the clock's now, numbered; `failures` given as
    a list of exceptions are raised first, one per call. Records what was being served (and
    its time left) at each call."""

    def __init__(self, clock, lifetime, failures=()):
        self.clock = clock
        self.lifetime = lifetime
        self.failures = list(failures)
        self.issued = 0
        self.served_at_call = []
        self.left_at_call = []  # the served credentials' time left when replaced
        self.refresher = None

    def credentials(self):
        self.issued += 1
        expiration = self.clock.time + self.lifetime if self.lifetime is not None else None
        return RoleCredentials(f"AKIA{self.issued}", "secret", "token", expiration)

    def __call__(self):
        served = self.refresher.current()
        self.served_at_call.append(served)
        if served is not None and served.expiration is not None:
            self.left_at_call.append(served.expiration - self.clock.time)
        if self.failures:
            raise self.failures.pop(0)
        return self.credentials()


def refresher_for(lifetime, waits, failures=()):
    clock = Clock(waits)
    issuer = Issuer(clock, lifetime, failures)
    refresher = Refresher(issuer, issuer.credentials(), now=clock.now, wait=clock.wait)
    issuer.refresher = refresher
    return clock, issuer, refresher


@pytest.mark.parametrize(
    ("lifetime", "every"),
    [
        (timedelta(minutes=15, seconds=8), 4.0),  # 8 s above the window: replaced after 4 s
        (timedelta(hours=1), 40 * 60.0),  # 5 min before the window
        (timedelta(minutes=15), 7.5 * 60),  # duration_seconds = 900: at half their life
        (None, 3600.0),  # never expire: looked at again hourly
    ],
)
def test_credentials_are_replaced_on_schedule(lifetime, every):
    clock, issuer, refresher = refresher_for(lifetime, waits=5)
    refresher.run()
    assert clock.waited == [every] * 6
    assert issuer.issued == 1 + 5  # the first, then one per wait
    assert refresher.current().access_key_id == "AKIA6"


def test_what_is_served_has_more_than_15_minutes_left_until_it_is_replaced():
    """botocore re-fetches on every call under 15 minutes: the refresher must replace the
    credentials before they get there."""
    _clock, issuer, refresher = refresher_for(timedelta(minutes=15, seconds=8), waits=20)
    refresher.run()
    assert len(issuer.left_at_call) == 20
    assert all(left > SDK_REFRESH_WINDOW for left in issuer.left_at_call)


def test_a_failed_refresh_backs_off_keeps_serving_reports_once_and_recovers(capsys):
    failures = [SsoexecError("AWS SSO said no", "try later")] * 8
    clock, issuer, refresher = refresher_for(timedelta(hours=1), waits=10, failures=failures)
    first = refresher.current()
    refresher.run()
    assert clock.waited == [40 * 60.0, *BACKOFF, 30, 30, 40 * 60.0, 40 * 60.0]
    assert issuer.served_at_call[:9] == [first] * 9  # the last good ones, all along
    assert refresher.current().access_key_id == "AKIA3"  # recovered, then refreshed again
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "ssoexec: could not refresh the credentials (AWS SSO said no); serving the current "
        "ones until they expire, and retrying",
        "ssoexec: credential refresh works again",
    ]


def test_once_the_last_good_credentials_expire_nothing_is_served_until_a_refresh_works(capsys):
    """15 min 8 s of life, refreshes failing for longer than that: what is served goes from
    the first credentials to None at their expiration, then to the new ones."""
    failures = [SsoexecError("down", "later")] * 40
    _clock, issuer, refresher = refresher_for(
        timedelta(minutes=15, seconds=8), waits=41, failures=failures
    )
    first = refresher.current()
    refresher.run()
    served = issuer.served_at_call
    assert served[0] is first and served[39] is None  # 4 + 1 + 2 + ... + 30 * 34 s > 15 min
    assert served.index(None) == served.count(first)  # no gap, no return to the old ones
    assert refresher.current().access_key_id == "AKIA2"
    assert "works again" in capsys.readouterr().err


def test_any_exception_in_a_refresh_is_retried_and_named(capsys):
    clock, _issuer, refresher = refresher_for(
        timedelta(hours=1), waits=3, failures=[RuntimeError("boom"), KeyError("x")]
    )
    refresher.run()
    assert clock.waited[1:3] == [BACKOFF[0], BACKOFF[1]]
    assert refresher.current().access_key_id == "AKIA2"
    err = capsys.readouterr().err
    assert "could not refresh the credentials (RuntimeError); retrying" in err
    assert "KeyError" not in err  # reported once
    assert "boom" not in err


def test_the_endpoint_answers_503_once_the_credentials_expired_unrefreshed(capsys):
    expired = RoleCredentials("AKIAOLD", "secret", "token", utcnow() - timedelta(seconds=1))

    def fetch():
        raise SsoexecError("down", "later")

    server = CredentialServer(fetch, expired).start()
    try:
        request = urllib.request.Request(server.uri, headers={"Authorization": server.token})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == 503
        assert "AKIAOLD" not in answer.value.read().decode()
    finally:
        server.stop()


def test_the_endpoint_serves_what_the_refresher_holds():
    clock = Clock(waits=0)
    first = RoleCredentials("AKIAFIRST", "s3cret", "tok", START + timedelta(hours=1), "111")
    server = CredentialServer(lambda: first, first, now=clock.now, wait=clock.wait).start()
    try:
        request = urllib.request.Request(server.uri, headers={"Authorization": server.token})
        with urllib.request.urlopen(request, timeout=10) as answer:
            document = json.loads(answer.read())
    finally:
        server.stop()
    assert document == {
        "AccessKeyId": "AKIAFIRST",
        "SecretAccessKey": "s3cret",
        "Token": "tok",
        "Expiration": "2026-01-01T01:00:00Z",
        "AccountId": "111",
    }
