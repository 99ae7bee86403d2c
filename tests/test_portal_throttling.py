"""A large portal that throttles (issue 13, items 1 and 2): `ssoexec configure` keeps within
its rate limit and writes every profile, showing its progress only on a terminal."""

from __future__ import annotations

import configparser
import re

from tests.conftest import SSOEXEC, run_in_terminal
from tests.emulator import organisation

TALLY = re.compile(r"\r\x1b\[Kssoexec: listing the portal: (\d+) of (\d+)\+? accounts read")


def large_portal(sandbox, accounts, roles, rate):
    sandbox.emulator.accounts = organisation(accounts, roles)
    sandbox.emulator.rate_limit = rate
    sandbox.login("corp")


def written_profiles(sandbox):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(sandbox.config)
    return {
        (parser[s]["sso_account_id"], parser[s]["sso_role_name"])
        for s in parser.sections()
        if s.startswith("profile ") and "sso_role_name" in parser[s]
    }


def test_a_portal_of_200_accounts_at_50_calls_a_second_gives_every_profile(sandbox):
    large_portal(sandbox, 200, 2, rate=50)
    result = sandbox.run("configure", "--sso-session", "corp", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    wanted = {(a.account_id, r) for a in organisation(200, 2) for r in a.roles}
    assert wanted <= written_profiles(sandbox)
    assert "added 400 profile" in result.stderr, result.stderr
    assert sandbox.emulator.calls["ListAccounts"] == 2  # 100 accounts a page


def test_a_call_throttled_beyond_its_attempts_is_one_error(sandbox):
    sandbox.login("corp")
    sandbox.emulator.fail("ListAccounts", 429, times=50)
    result = sandbox.run("configure", "--sso-session", "corp", env={"AWS_MAX_ATTEMPTS": "2"})
    assert result.returncode == 125, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("ssoexec: error: listing your accounts") and "throttling" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert sandbox.emulator.calls["ListAccounts"] == 2  # AWS_MAX_ATTEMPTS still applies


def test_a_long_listing_shows_its_progress_on_a_terminal(sandbox):
    large_portal(sandbox, 60, 2, rate=20)  # about 3 s
    status, output = run_in_terminal([SSOEXEC, "configure", "--sso-session", "corp"], sandbox.env)
    assert status == 0, output
    counts = [(int(read), int(total)) for read, total in TALLY.findall(output)]
    assert counts, output
    assert all(total <= 60 and read <= total for read, total in counts)
    assert any(total == 60 and read > 0 for read, total in counts)
    assert re.search(r"role\(s\) found, \d+s", output)
    # the line is cleared before the plan and today's summary
    after = output[output.rindex("listing the portal") :]
    assert re.match(r"listing the portal: [^\r\n]*\r\x1b\[K[^\r\n]", after), after[:200]
    assert "\nssoexec: added 120 profiles in " in after
    assert len(written_profiles(sandbox)) >= 120


def test_no_progress_without_a_terminal(sandbox):
    large_portal(sandbox, 60, 2, rate=20)
    result = sandbox.run("configure", "--sso-session", "corp")
    assert result.returncode == 0, result.stderr
    assert "listing the portal" not in result.stderr
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert result.stderr.startswith("ssoexec: added 120 profile"), result.stderr
    assert len(written_profiles(sandbox)) >= 120
    assert sandbox.emulator.throttled["ListAccountRoles"] > 0  # 429s, waited out unseen
