"""Pure: the URLs `ssoexec console` builds, from the partition, region, service or destination.

Sources, checked against what the peers send (aws-vault cli/login.go, granted pkg/console,
aws-sso-cli console_cmd.go):
- The federation endpoint and its two actions, from the IAM guide "Enable custom identity
  broker access to the AWS console" (id_roles_providers_enable-console-custom-url):
  `Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}[&SessionDuration=N]`
  answers `{"SigninToken": "..."}`; `Action=login&Issuer=&Destination=&SigninToken=` is the
  URL the browser opens, valid for 15 minutes.
- Identity Center's shortcut links, from its user guide "Create shortcut links to AWS
  Management Console destinations" (createshortcutlink):
  `<start URL>/#/console?account_id=<id>&role_name=<permission set>[&destination=<URL-encoded
  console URL>]`.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode, urlsplit

from ssoexec.environment import RoleCredentials
from ssoexec.errors import EXIT_USAGE, ConfigError, SsoexecError
from ssoexec.terminal import shorten

# The console's host in each partition that has a public console. In the aws partition the
# console is regional (`eu-west-1.console.aws.amazon.com`, as the console itself shows);
# China and GovCloud keep one host and take the region as a parameter.
CONSOLE_HOSTS = {
    "aws": ("console.aws.amazon.com", True),
    "aws-cn": ("console.amazonaws.cn", False),
    "aws-us-gov": ("console.amazonaws-us-gov.com", False),
}
# --service words whose console path is not `<word>/home`, and the consoles that are global
# (no ?region=). Any other word in SERVICE_NAME is taken as the path as it is.
SERVICE_PATHS = {
    "cloudformation": "cloudformation/home",
    "cfn": "cloudformation/home",
    "dynamodb": "dynamodbv2/home",
    "ddb": "dynamodbv2/home",
    "iam": "iam/home",
    "organizations": "organizations/v2/home",
    "route53": "route53/v2/home",
    "ssm": "systems-manager/home",
    "sso": "singlesignon/home",
    "stepfunctions": "states/home",
    "sfn": "states/home",
    "billing": "billing/home",
}
GLOBAL_SERVICES = frozenset({"iam", "organizations", "route53", "billing"})
SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")

SHORTEST_SESSION = 900  # seconds: SessionDuration's range, in the IAM guide
LONGEST_SESSION = 43200
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?")


def console_home(partition: str, region: str | None, service: str | None = None) -> str:
    """The console page to land on: the service's (`--service s3`), else the console home, in
    `region` when there is one."""
    host = _console_host(partition, region)
    if service is None:
        path, regional = "console/home", True
    else:
        if not SERVICE_NAME.fullmatch(service):
            raise SsoexecError(
                f"--service {shorten(service)!r} is not a service name",
                "give the name as in the console's address, e.g. s3, ec2, lambda, cloudwatch",
                exit_code=EXIT_USAGE,
            )
        path = SERVICE_PATHS.get(service, f"{service}/home")
        regional = service not in GLOBAL_SERVICES
    query = f"?region={region}" if region and regional else ""
    return f"https://{host}/{path}{query}"


def checked_destination(url: str, partition: str) -> str:
    """`--destination URL`, if it is an https URL of this partition's console."""
    host, _ = CONSOLE_HOSTS.get(partition, (None, False))
    parts = urlsplit(url)
    name = (parts.hostname or "").lower()
    ours = host is not None and (name == host or name.endswith("." + host))
    if parts.scheme != "https" or not ours or parts.username or parts.port not in (None, 443):
        where = f"https://{host}/..." if host else "a console URL"
        raise SsoexecError(
            f"--destination {shorten(url)!r} is not a URL of the AWS console ({partition})",
            f"give a console page's address, {where} (copy it from the browser)",
            exit_code=EXIT_USAGE,
        )
    return url


def _console_host(partition: str, region: str | None) -> str:
    if partition not in CONSOLE_HOSTS:
        raise ConfigError(
            f"ssoexec knows no public AWS console for partition {partition!r} (region {region})",
            "open the console from your partition's sign-in page instead",
        )
    host, regional = CONSOLE_HOSTS[partition]
    return f"{region}.{host}" if regional and region else host


def signin_token_query(credentials: RoleCredentials, duration: int | None) -> str:
    """The query of the getSigninToken request. It holds the credentials: never logged."""
    session = {
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key,
        "sessionToken": credentials.session_token or "",
    }
    params = [("Action", "getSigninToken")]
    if duration is not None:
        params.append(("SessionDuration", str(duration)))
    params.append(("Session", json.dumps(session, separators=(",", ":"))))
    return urlencode(params, quote_via=quote)


def login_url(federation: str, *, issuer: str, destination: str, signin_token: str) -> str:
    """The URL that signs the browser in and lands on `destination` (valid 15 minutes)."""
    params = [
        ("Action", "login"),
        ("Issuer", issuer),
        ("Destination", destination),
        ("SigninToken", signin_token),
    ]
    return f"{federation}?{urlencode(params, quote_via=quote)}"


def portal_shortcut(
    start_url: str, *, account_id: str, role_name: str, destination: str | None
) -> str:
    """Identity Center's shortcut link: the portal signs the browser in itself (its own
    session, the console's multi-session support); no credential is in the URL."""
    base = start_url.split("#", 1)[0].rstrip("/")
    params = [("account_id", account_id), ("role_name", role_name)]
    if destination:
        params.append(("destination", destination))
    return f"{base}/#/console?{urlencode(params, quote_via=quote)}"


def parse_duration(text: str) -> int:
    """`--duration`: `12h`, `90m`, `1h30m`, `3600s` or `3600` -> seconds, within the range
    AWS accepts for a console session (15 minutes to 12 hours)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise SsoexecError(
            f"--duration {shorten(text)!r} is not a duration",
            "write it as 12h, 90m, 1h30m or a number of seconds",
            exit_code=EXIT_USAGE,
        )
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not SHORTEST_SESSION <= total <= LONGEST_SESSION:
        raise SsoexecError(
            f"--duration {shorten(text)} is outside what AWS allows for a console session",
            "give 15m to 12h",
            exit_code=EXIT_USAGE,
        )
    return total
