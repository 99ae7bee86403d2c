"""`ssoexec console`: the AWS console in the browser, as the profile's role.

Federation (the default, and the only way for role chains and other profiles with temporary
credentials): the credentials are resolved exactly as a run resolves them (plan.plan_run +
resolve.resolve: sign-in when needed, an outer ssoexec's credentials reused), exchanged at the
federation endpoint for a sign-in token, and the login URL is built (console_urls). The browser
gets a one-time loopback link to it (console_link), never the URL itself; `--print` writes it
on stdout instead.

`--portal` (SSO profiles): Identity Center's own shortcut link, with no credential in it.

The federation endpoint is found through botocore's endpoint rules for its `signin` service,
for the console's region: `https://<region>.signin.aws.amazon.com` (`.amazonaws.cn` in China,
`.amazonaws-us-gov.com` in GovCloud), the host that the AWS CLI's own `aws login` calls, plus
`/federation`. So the partition comes out right, and AWS_ENDPOINT_URL_SIGNIN (or a profile's
endpoint_url settings) overrides it as it overrides any botocore client. With no region at all,
us-east-1's. The request is a plain HTTPS GET (it is not an AWS API: no signing, no model)
sent with botocore's own HTTP stack, so AWS_CA_BUNDLE, HTTPS_PROXY and NO_PROXY apply as they
do to every other AWS call.

SessionDuration (how long the console session lasts; without it, as long as the credentials)
is sent only with `--duration`, and only for SSO profiles: the IAM guide allows it for
credentials from AssumeRole* (GetRoleCredentials hands out role sessions of that kind) and
says the request fails with GetFederationToken's; AWS also refuses it for credentials from role
chaining, whose console sessions it caps at one hour; and for credentials botocore resolved
(credential_process, an outer ssoexec...) ssoexec cannot tell which kind they are.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssoexec import console_urls
from ssoexec.errors import EXIT_USAGE, AwsCallError, ConfigError, SsoexecError
from ssoexec.plan import RunPlan, choose_region, plan_for_keys
from ssoexec.profile import Profile, SsoProfile
from ssoexec.resolve import plan_profile, profile_region, resolve, sign_in_if_possible
from ssoexec.terminal import say, shorten

if TYPE_CHECKING:
    from ssoexec.clients import Aws
    from ssoexec.direct import DirectTarget
    from ssoexec.environment import RoleCredentials

log = logging.getLogger(__name__)

WAIT_ENV = "SSOEXEC_CONSOLE_WAIT"  # seconds the one-time link waits for the browser
WAIT = 120.0
FEDERATION_PATH = "/federation"
NO_REGION = "us-east-1"  # the federation endpoint's region when the console has none
_TIMEOUT = 60  # seconds to connect and to read, as botocore's default


@dataclass(frozen=True)
class ConsoleRequest:
    profile_name: str
    region: str | None = None
    service: str | None = None
    destination: str | None = None
    print_url: bool = False
    portal: bool = False
    duration: int | None = None  # seconds of SessionDuration (--duration)
    login: str = "auto"
    target: DirectTarget | None = None  # --sso-session/--account/--role instead of a profile


def open_console(request: ConsoleRequest) -> None:
    """Open (or with print_url, print) the console for the request's profile."""
    from ssoexec import login

    browser = None if request.print_url else login.local_browser()
    if not request.print_url and browser is None:
        raise SsoexecError(
            "no browser on this machine can open the console (an SSH session, a container, "
            "or no display)",
            "run `ssoexec console --print` and open the URL in a browser that can reach AWS",
        )
    url, secret = (_portal_url if request.portal else _federation_url)(request)
    if request.print_url:
        if secret and sys.stdout.isatty():
            say(
                "warning: this URL signs whoever opens it in to the console as this role, "
                "for 15 minutes: keep it to yourself"
            )
        print(url, flush=True)
        return
    # Even a portal shortcut, which holds no credential, goes through the one-time link: the
    # run then ends once the browser has the page, not while it may still be starting.
    _hand_over(url, browser)


def _federation_url(request: ConsoleRequest) -> tuple[str, bool]:
    aws, plan, profile = _profile(request)
    name = plan.profile_name
    if request.duration is not None and not isinstance(profile, SsoProfile):
        raise ConfigError(
            f"--duration cannot be used with profile {name!r} ({profile.kind})",
            "leave out --duration: AWS accepts a console session length only for SSO "
            "credentials here (it refuses it for role chains); the session lasts as long as "
            "the credentials",
        )
    # The region and page first: a mistake there should not cost a sign-in.
    region = plan.region(os.environ, profile_region(profile)).name
    destination = _destination(request, _partition(aws, region), region)
    resolved = resolve(plan, os.environ, login=request.login)
    credentials = resolved.credentials
    _check_temporary(credentials, name)
    federation = federation_endpoint(aws, region or NO_REGION)
    token = fetch_signin_token(aws, federation, credentials, request.duration, profile_name=name)
    issuer = profile.session.start_url if isinstance(profile, SsoProfile) else ""
    url = console_urls.login_url(
        federation, issuer=issuer, destination=destination, signin_token=token
    )
    return url, True


def _portal_url(request: ConsoleRequest) -> tuple[str, bool]:
    if request.duration is not None:
        raise SsoexecError(
            "--duration does not go with --portal",
            "the portal sets the session length (the permission set's); leave out --duration",
            exit_code=EXIT_USAGE,
        )
    aws, plan, profile = _profile(request)
    if not isinstance(profile, SsoProfile):
        raise ConfigError(
            f"--portal needs an SSO profile; {plan.profile_name!r} is a {profile.kind} profile",
            "leave out --portal: the console opens through the federation endpoint instead",
        )
    region = choose_region(request.region, os.environ, profile_region(profile))
    destination = None
    if request.service or request.destination or region.name:
        destination = _destination(request, _partition(aws, region.name), region.name)
    url = console_urls.portal_shortcut(
        profile.session.start_url,
        account_id=profile.account_id,
        role_name=profile.role_name,
        destination=destination,
    )
    return url, False


def _profile(request: ConsoleRequest) -> tuple[Aws, RunPlan, Profile]:
    """The plan for the request's profile or target (the keys themselves, not an inherited
    endpoint), and the profile it names (for a target given no --role, the portal names the
    role: the only one in that account)."""
    from ssoexec.clients import Aws

    plan = plan_for_keys(
        os.environ,
        profile_name=request.profile_name,
        region=request.region,
        target=request.target,
    )
    aws = Aws() if request.target is not None else Aws(request.profile_name)
    name = None if request.target is not None else request.profile_name
    sign_in = sign_in_if_possible(request.login, name, aws)
    plan, profile = plan_profile(plan, aws, sign_in)
    return aws, plan, profile


def _destination(request: ConsoleRequest, partition: str, region: str | None) -> str:
    if request.destination:
        return console_urls.checked_destination(request.destination, partition)
    return console_urls.console_home(partition, region, request.service)


def _check_temporary(credentials: RoleCredentials, profile_name: str) -> None:
    if not credentials.session_token:
        raise ConfigError(
            f"profile {profile_name!r} has long-lived access keys, and the AWS console's "
            "federation endpoint signs in only with temporary credentials",
            "use an SSO profile for the console (`ssoexec configure` writes them), or a profile "
            f"with role_arn and source_profile = {profile_name}",
        )


def _partition(aws: Aws, region: str | None) -> str:
    """The region's partition, as botocore's endpoint rules find it (aws.partition): from
    partitions.json, which they load anyway (endpoints.json would cost a quarter second)."""
    if not region:
        return "aws"
    partitions = aws.session.get_component("data_loader").load_data("partitions")
    for partition in partitions["partitions"]:
        if region in partition.get("regions", {}):
            return partition["id"]
    for partition in partitions["partitions"]:
        if re.match(partition.get("regionRegex", "$^"), region):
            return partition["id"]
    raise ConfigError(
        f"no AWS partition has a region named {region!r}",
        "check --region, AWS_REGION / AWS_DEFAULT_REGION and the profile's region",
    )


def federation_endpoint(aws: Aws, region: str) -> str:
    """The federation endpoint's URL for `region`, through botocore's `signin` endpoint rules
    (the data-plane operation's, which the console's sign-in shares)."""
    from botocore import UNSIGNED
    from botocore import exceptions as bce
    from botocore.config import Config

    try:
        client = aws.session.create_client(
            "signin", region_name=region, config=Config(signature_version=UNSIGNED)
        )
        operation = client.meta.service_model.operation_model("CreateOAuth2Token")
        endpoint = client._ruleset_resolver.construct_endpoint(
            operation_model=operation, call_args={}, request_context={}
        )
    except bce.UnknownServiceError:
        raise ConfigError(
            "this botocore has no endpoint data for AWS Sign-In (the console's federation "
            "endpoint)",
            "upgrade botocore (`pip install -U botocore`): this one predates AWS Sign-In's "
            "endpoint data",
        ) from None
    except bce.BotoCoreError as error:  # FIPS or dual-stack asked where AWS has none
        raise ConfigError(
            f"no AWS federation endpoint for region {region}: {error}",
            "check AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT, or set "
            "AWS_ENDPOINT_URL_SIGNIN",
        ) from None
    return endpoint.url.rstrip("/") + FEDERATION_PATH


def fetch_signin_token(
    aws: Aws,
    federation: str,
    credentials: RoleCredentials,
    duration: int | None,
    *,
    profile_name: str,
) -> str:
    """getSigninToken: the credentials -> a sign-in token (valid 15 minutes)."""
    from botocore import exceptions as bce
    from botocore.awsrequest import AWSRequest
    from botocore.httpsession import URLLib3Session

    query = console_urls.signin_token_query(credentials, duration)
    log.debug("getSigninToken at %s (SessionDuration %s)", federation, duration)
    http = URLLib3Session(
        verify=aws.session.get_config_variable("ca_bundle") or True, timeout=_TIMEOUT
    )
    request = AWSRequest(method="GET", url=f"{federation}?{query}").prepare()
    where = f"the AWS federation endpoint {shorten(federation)}"
    try:
        response = http.send(request)
    except bce.SSLError:
        raise AwsCallError(
            f"TLS with {where} failed",
            "if a proxy re-signs TLS, point AWS_CA_BUNDLE at its certificate",
        ) from None
    except (bce.HTTPClientError, bce.ConnectionError) as error:  # its text has the URL: secrets
        raise AwsCallError(
            f"cannot reach {where} ({type(error).__name__})",
            _network_hint(),
        ) from None
    finally:
        http.close()
    status = response.status_code
    log.debug("getSigninToken answered HTTP %s", status)
    if status == 400:
        raise AwsCallError(
            f"{where} refused the credentials of profile {profile_name!r} (HTTP 400)",
            "AWS refuses SessionDuration for some credentials: run again without --duration"
            if duration is not None
            else "they may have expired or been revoked: run again for new ones "
            f"(`ssoexec -p {profile_name} -- aws sts get-caller-identity` checks them)",
        )
    if status != 200:
        raise AwsCallError(
            f"{where} answered HTTP {status}",
            "run again in a moment" if status >= 500 or status == 429 else _network_hint(),
        )
    try:
        token = json.loads(response.content)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise AwsCallError(
            f"{where} answered without a sign-in token",
            "check AWS_ENDPOINT_URL_SIGNIN and any proxy in between",
        )
    return token


def _network_hint() -> str:
    overrides = sorted(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))
    if overrides:
        return f"check your network, proxy and {', '.join(overrides)}"
    return "check your network connection and proxy settings (HTTPS_PROXY)"


def wait_seconds() -> float:
    """How long the one-time link waits: WAIT, or SSOEXEC_CONSOLE_WAIT (for tests and for
    slow machines)."""
    raw = os.environ.get(WAIT_ENV)
    if not raw:
        return WAIT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise SsoexecError(
            f"{WAIT_ENV}={shorten(raw)!r} is not a number of seconds",
            f"unset {WAIT_ENV}, or give it 1 to 3600",
        )
    return seconds


def _hand_over(url: str, browser: str) -> None:
    """Open the one-time link in the browser and wait until it has been followed."""
    from ssoexec import login
    from ssoexec.console_link import OneTimeLink
    from ssoexec.coredump import forbid_core_dumps
    from ssoexec.progress import Progress

    forbid_core_dumps()  # it holds a sign-in token while it waits
    deadline = time.monotonic() + wait_seconds()
    # Under WSL the Windows browser connects through a relay owned by someone else.
    check_peer = browser == login.WEBBROWSER and login.windows_browser() is None
    with OneTimeLink(url, check_peer=check_peer) as link:
        left = int(deadline - time.monotonic())
        say(f"opening the console with {link.url} (once, within {left // 60}:{left % 60:02d})")
        over = threading.Event()
        login.opener(browser, over)(link.url)
        try:
            with Progress("waiting for the browser", deadline) as progress:
                while True:
                    step = progress.tick()
                    if link.wait(step):
                        break
                    if step <= 0:
                        raise SsoexecError(
                            "the browser did not open the console link in time",
                            "run `ssoexec console` again, or use --print and open the URL yourself",
                        )
        finally:
            over.set()
    say("the console is open in the browser")
