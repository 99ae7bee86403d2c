"""The URLs `ssoexec console` builds (pure), and the one-time loopback link."""

import http.client
import json
import os
import subprocess
import sys
import threading
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from ssoexec import console_urls as urls
from ssoexec.console_link import SOCKET_TABLES, OneTimeLink, socket_owner
from ssoexec.environment import RoleCredentials
from ssoexec.errors import EXIT_USAGE, SsoexecError

CREDENTIALS = RoleCredentials("ASIAEXAMPLE", "se/cr+et key", "to+ken/==", account_id="1")


@pytest.mark.parametrize(
    ("partition", "region", "service", "expected"),
    [
        ("aws", "eu-west-1", None, "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
        ("aws", None, None, "https://console.aws.amazon.com/console/home"),
        ("aws", "us-east-2", "s3", "https://us-east-2.console.aws.amazon.com/s3/home?region=us-east-2"),
        ("aws", "us-east-2", "dynamodb", "https://us-east-2.console.aws.amazon.com/dynamodbv2/home?region=us-east-2"),
        ("aws", "us-east-2", "iam", "https://us-east-2.console.aws.amazon.com/iam/home"),
        ("aws-cn", "cn-north-1", None, "https://console.amazonaws.cn/console/home?region=cn-north-1"),
        ("aws-us-gov", "us-gov-west-1", "ec2", "https://console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1"),
    ],
)  # fmt: skip
def test_console_home(partition, region, service, expected):
    assert urls.console_home(partition, region, service) == expected


@pytest.mark.parametrize("service", ["S3", "s3/../../evil", "s3?x=1", "", "a" * 41])
def test_a_service_is_a_plain_name(service):
    with pytest.raises(SsoexecError) as caught:
        urls.console_home("aws", "eu-west-1", service)
    assert caught.value.exit_code == EXIT_USAGE


def test_no_console_for_a_partition_without_one():
    with pytest.raises(SsoexecError, match="no public AWS console for partition 'aws-iso'"):
        urls.console_home("aws-iso", "us-iso-east-1")


@pytest.mark.parametrize(
    ("url", "partition"),
    [
        ("https://console.aws.amazon.com/s3/buckets/b?region=eu-west-1&tab=objects", "aws"),
        ("https://eu-west-1.console.aws.amazon.com/ec2/home#Instances:", "aws"),
        ("https://console.amazonaws.cn/console/home", "aws-cn"),
    ],
)
def test_a_console_destination_is_taken_as_it_is(url, partition):
    assert urls.checked_destination(url, partition) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://console.aws.amazon.com/",  # not https
        "https://evil.example/console.aws.amazon.com/",
        "https://console.aws.amazon.com.evil.example/",
        "https://evilconsole.aws.amazon.com/",
        "https://user@console.aws.amazon.com/",
        "https://console.aws.amazon.com:8443/",
        "https://console.amazonaws.cn/",  # another partition's console
        "javascript:alert(1)",
        "s3",
    ],
)
def test_anything_else_is_not_a_destination(url):
    with pytest.raises(SsoexecError) as caught:
        urls.checked_destination(url, "aws")
    assert caught.value.exit_code == EXIT_USAGE


def test_the_signin_token_request_carries_the_documented_session_json():
    query = parse_qs(urls.signin_token_query(CREDENTIALS, None), strict_parsing=True)
    assert query["Action"] == ["getSigninToken"]
    assert "SessionDuration" not in query
    assert json.loads(query["Session"][0]) == {
        "sessionId": "ASIAEXAMPLE",
        "sessionKey": "se/cr+et key",
        "sessionToken": "to+ken/==",
    }
    with_duration = parse_qs(urls.signin_token_query(CREDENTIALS, 3600))
    assert with_duration["SessionDuration"] == ["3600"]


def test_the_login_url_has_the_four_parameters_encoded():
    url = urls.login_url(
        "https://eu-west-1.signin.aws.amazon.com/federation",
        issuer="https://d-1.awsapps.com/start",
        destination="https://console.aws.amazon.com/s3/home?region=eu-west-1&x=1",
        signin_token="a+b/c=",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "eu-west-1.signin.aws.amazon.com",
        "/federation",
    )
    assert parse_qsl(parts.query, strict_parsing=True) == [
        ("Action", "login"),
        ("Issuer", "https://d-1.awsapps.com/start"),
        ("Destination", "https://console.aws.amazon.com/s3/home?region=eu-west-1&x=1"),
        ("SigninToken", "a+b/c="),
    ]


@pytest.mark.parametrize(
    "start_url",
    [
        "https://d-1234567890.awsapps.com/start",
        "https://d-1234567890.awsapps.com/start/",
        "https://d-1234567890.awsapps.com/start/#/",
    ],
)
def test_the_portal_shortcut(start_url):
    url = urls.portal_shortcut(
        start_url,
        account_id="111111111111",
        role_name="Admin",
        destination="https://console.aws.amazon.com/s3/home?region=eu-west-1&tab=a b",
    )
    assert url == (
        "https://d-1234567890.awsapps.com/start/#/console?account_id=111111111111"
        "&role_name=Admin&destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome"
        "%3Fregion%3Deu-west-1%26tab%3Da%20b"
    )
    bare = urls.portal_shortcut(start_url, account_id="1", role_name="R", destination=None)
    assert bare == "https://d-1234567890.awsapps.com/start/#/console?account_id=1&role_name=R"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12h", 43200), ("90m", 5400), ("1h30m", 5400), ("900", 900), ("3600s", 3600)],
)
def test_durations(text, seconds):
    assert urls.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "10m", "13h", "1d", "-1h", "1.5h", "12h1s"])
def test_bad_durations(text):
    with pytest.raises(SsoexecError) as caught:
        urls.parse_duration(text)
    assert caught.value.exit_code == EXIT_USAGE


# The one-time link


def get(url_or_port, path):
    connection = http.client.HTTPConnection("127.0.0.1", url_or_port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def test_the_link_redirects_once_then_stops_listening():
    target = "https://eu-west-1.signin.aws.amazon.com/federation?Action=login&SigninToken=x"
    link = OneTimeLink(target)
    try:
        parts = urlsplit(link.url)
        assert parts.hostname == "127.0.0.1"
        assert len(parts.path) > 40  # 256 random bits, base64url
        assert get(parts.port, "/favicon.ico") == (404, None)
        assert get(parts.port, parts.path[:-1]) == (404, None)  # nearly: still nothing
        assert not link.wait(0)
        assert get(parts.port, parts.path) == (302, target)
        assert link.wait(0)
        assert get(parts.port, parts.path) == (404, None)  # never twice
    finally:
        link.close()
    with pytest.raises(ConnectionRefusedError):
        get(parts.port, parts.path)


def test_two_racing_requests_get_one_redirect():
    link = OneTimeLink("https://example.invalid/")
    parts = urlsplit(link.url)
    statuses = []
    barrier = threading.Barrier(8)

    def fetch():
        barrier.wait()
        statuses.append(get(parts.port, parts.path)[0])

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        link.close()
    assert sorted(statuses) == [302] + [404] * 7


def test_waiting_for_a_link_nobody_follows_gives_up():
    with OneTimeLink("https://example.invalid/") as link:
        assert not link.wait(0.05)


# Only our own user's processes are served (Linux: the owner of the client's socket).

TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A76F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 738643 1
   1: 0100007F:D431 0100007F:A76F 01 00000000:00000000 00:00000000 00000000  1000        0 738650 1
   2: 0100007F:A76F 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 738651 1
"""


@pytest.mark.skipif(sys.byteorder != "little", reason="the literal table is a little-endian one")
def test_the_owner_of_the_clients_socket():
    client, server = ("127.0.0.1", 0xD431), ("127.0.0.1", 0xA76F)
    assert socket_owner(TABLE, local=client, remote=server) == 1000
    assert socket_owner(TABLE, local=server, remote=client) == 0  # our own end, not theirs
    assert socket_owner(TABLE, local=("127.0.0.1", 1), remote=server) is None
    assert socket_owner("", local=client, remote=server) is None


TABLE6 = """\
  sl  local_address remote_address st tx_queue:rx_queue tr:when retrnsmt uid (and more)
   0: 0000000000000000FFFF00000100007F:D572 0000000000000000FFFF00000100007F:A5B7 01 0:0 0:0 0 1001
"""


@pytest.mark.skipif(sys.byteorder != "little", reason="the literal table is a little-endian one")
def test_a_dual_stack_clients_socket_is_in_the_ipv6_table():
    client, server = ("127.0.0.1", 0xD572), ("127.0.0.1", 0xA5B7)
    assert socket_owner(TABLE6, local=client, remote=server) == 1001
    assert socket_owner(TABLE6, local=server, remote=client) is None


SYSTEM_PYTHON = "/usr/bin/python3"  # one that user nobody may run (our venv's may be in /root)


@pytest.mark.skipif(
    not (os.path.exists(SOCKET_TABLES[0]) and os.geteuid() == 0 and os.path.exists(SYSTEM_PYTHON)),
    reason="needs Linux's socket table, and root to start a process as another user",
)
def test_another_users_process_is_not_served():
    link = OneTimeLink("https://example.invalid/target")
    parts = urlsplit(link.url)
    other_user = (
        "import http.client, sys\n"
        "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)\n"
        "try:\n"
        "    c.request('GET', sys.argv[2]); print(c.getresponse().status)\n"
        "except (ConnectionError, http.client.HTTPException):\n"
        "    print('closed')\n"
    )
    try:
        result = subprocess.run(
            [SYSTEM_PYTHON, "-c", other_user, str(parts.port), parts.path],
            user=65534,  # nobody
            cwd="/",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.stdout.strip() == "closed", result.stderr
        assert not link.wait(0)  # still unused: ours works, from a dual-stack socket too
        dual = http.client.HTTPConnection("::ffff:127.0.0.1", parts.port, timeout=10)
        dual.request("GET", "/favicon.ico")
        assert dual.getresponse().status == 404  # served (not closed): it is ours
        dual.close()
        assert get(parts.port, parts.path) == (302, "https://example.invalid/target")
    finally:
        link.close()
