"""botocore clients for SSO, SSO-OIDC and STS, for one profile, and their failures as SsoexecError.

Every AWS call goes through a botocore client, so endpoint resolution, retries, proxies,
AWS_CA_BUNDLE and the AWS_ENDPOINT_URL_* overrides behave exactly as in the AWS CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.session
from botocore import UNSIGNED
from botocore import exceptions as bce
from botocore.config import Config
from botocore.loaders import Loader

from ssoexec import __version__
from ssoexec.errors import AwsCallError, ConfigError

_USER_AGENT = f"ssoexec/{__version__}"
LISTING_ATTEMPTS = 10  # tries of each listing call unless AWS_MAX_ATTEMPTS / max_attempts say


class _ServiceLookup:
    """`name in services` answered by looking at that one service's data directory."""

    def __init__(self, loader: _LeanLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, service_name: object) -> bool:
        try:
            return bool(self._loader.list_api_versions(service_name, self._type_name))
        except bce.DataNotFoundError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(Loader.list_available_services(self._loader, self._type_name))


class _LeanLoader(Loader):
    """botocore's loader, minus the listing of all ~400 service directories that it does to
    validate one service name before loading its model (a fifth of a client's creation cost)."""

    def list_available_services(self, type_name: str) -> _ServiceLookup:  # type: ignore[override]
        return _ServiceLookup(self, type_name)


class Aws:
    """botocore for one profile: that profile's settings (endpoint_url, ca_bundle, retry mode,
    sts_regional_endpoints) apply to every client made here, as they would to the AWS CLI's.

    Made by whoever starts talking to AWS (a run, a sign-in, configure) and passed to each
    stage that makes a call: nothing here is global. With no profile, AWS_PROFILE is ignored
    too (configure and `login --sso-session` name no profile, and AWS_PROFILE may name one
    that does not exist yet); the [default] section's settings apply if there is one.
    """

    def __init__(self, profile: str | None = None) -> None:
        no_profile = {"profile": (None, None, None, None)}  # not from AWS_PROFILE either
        session = botocore.session.Session(
            profile=profile, session_vars=None if profile else no_profile
        )
        session.lazy_register_component("data_loader", lambda: _lean_loader(session))
        session.user_agent_extra = _USER_AGENT
        self.profile = profile
        self.session = session

    def config(self) -> dict:
        """The merged config and credentials files as botocore reads them (its exceptions)."""
        return self.session.full_config

    def sso(self, region: str, *, listing: bool = False):
        """The portal's client. For a `listing` (every account and role, hundreds of calls
        into an API the portal throttles at about 20 a second): botocore's adaptive retry
        mode, whose client-side token bucket slows to the rate the 429s allow, and waits
        out the ones that still come, up to max_attempts tries a call (the default legacy
        mode gave up after 5, standard after 3: benchmarks/portal_throttling.py)."""
        config = Config(signature_version=UNSIGNED)
        if listing:  # else the profile's own retry settings, as for the AWS CLI
            attempts = self.session.get_config_variable("max_attempts") or LISTING_ATTEMPTS
            config = config.merge(
                Config(retries={"mode": "adaptive", "total_max_attempts": attempts})
            )
        return self.session.create_client("sso", region_name=region, config=config)

    def oidc(self, region: str):
        return self.session.create_client(
            "sso-oidc", region_name=region, config=Config(signature_version=UNSIGNED)
        )

    def sts(self, region: str | None, credentials):
        """STS in `region`; with none, us-east-1, home of the global endpoint (botocore cannot
        sign for an endpoint override without a region)."""
        return self.session.create_client(
            "sts",
            region_name=region or "us-east-1",
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )


def _lean_loader(session: botocore.session.Session) -> _LeanLoader:
    data_path = session.get_config_variable("data_path")
    return _LeanLoader(extra_search_paths=data_path.split(os.pathsep) if data_path else [])


_THROTTLING = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "SlowDown",
}
_CLOCK = {"RequestExpired", "RequestTimeTooSkewed", "InvalidSignatureException"}


@contextmanager
def translate_errors(
    action: str, *, denied_hint: str | None = None, invalid_hint: str | None = None
) -> Iterator[None]:
    """Turn botocore's exceptions, raised while doing `action`, into one-line SsoexecErrors.

    `denied_hint` is the advice for an access-denied answer, `invalid_hint` for a refused
    request (HTTP 400): both depend on what was being done.
    """
    try:
        yield
    except bce.ClientError as error:
        raise _client_error(action, error, denied_hint, invalid_hint) from None
    except (bce.EndpointConnectionError, bce.ProxyConnectionError) as error:
        raise AwsCallError(
            f"{action}: cannot connect to {_url(error)}",
            _network_hint(),
        ) from None
    except bce.ConnectionClosedError as error:
        raise AwsCallError(
            f"{action}: {_url(error)} closed the connection without answering",
            _network_hint(),
        ) from None
    except (bce.ReadTimeoutError, bce.ConnectTimeoutError) as error:
        raise AwsCallError(f"{action}: timed out ({error})", _network_hint()) from None
    except bce.SSLError as error:
        raise AwsCallError(
            f"{action}: TLS failed ({error})",
            "if a proxy re-signs TLS, point AWS_CA_BUNDLE at its certificate",
        ) from None
    except bce.HTTPClientError as error:
        raise AwsCallError(f"{action}: {error}", _network_hint()) from None
    except bce.ProfileNotFound as error:
        raise ConfigError(f"{action}: {error}", "`ssoexec list` shows the profiles") from None
    except bce.CredentialRetrievalError as error:
        raise ConfigError(
            f"{action}: {error}", "run the profile's credential_process by hand to see it fail"
        ) from None
    except (
        bce.PartialCredentialsError,
        bce.InvalidConfigError,
        bce.InfiniteLoopConfigError,
        bce.UnknownCredentialError,
    ) as error:
        raise ConfigError(f"{action}: {error}", "fix the profile in the AWS config") from None
    except bce.ParamValidationError:
        # Its message quotes the values it refused, which may be tokens or client secrets.
        raise ConfigError(
            f"{action}: a value read from the AWS config or the SSO token cache is malformed",
            "sign in again to rewrite the token cache (`ssoexec login`), or fix the profile",
        ) from None
    except bce.NoCredentialsError:
        raise ConfigError(
            f"{action}: no credentials found", "fix the profile in the AWS config"
        ) from None


def _client_error(
    action: str, error: bce.ClientError, denied_hint: str | None, invalid_hint: str | None
) -> AwsCallError:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    text = (details.get("Message") or "").replace("\n", " ").strip()
    meta = error.response.get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode", 0)
    attempts = meta.get("RetryAttempts", 0) + 1
    said = f"{code}: {text}" if text else code
    if code in _THROTTLING or status == 429:
        return AwsCallError(
            f"{action}: AWS is throttling requests ({said}), {attempts} attempt(s)",
            "wait a minute and run again; AWS_MAX_ATTEMPTS and AWS_RETRY_MODE=adaptive "
            "make botocore retry longer",
        )
    if status >= 500:
        return AwsCallError(
            f"{action}: AWS answered HTTP {status} ({said}) after {attempts} attempt(s)",
            "the service is having trouble; run again in a moment",
        )
    if code in _CLOCK:
        return AwsCallError(
            f"{action}: {said}",
            "set the system clock right (e.g. `timedatectl set-ntp true`), then run again",
        )
    if status == 403 or code in ("AccessDenied", "AccessDeniedException", "ForbiddenException"):
        return AwsCallError(f"{action}: {said}", denied_hint or "check the profile's settings")
    if status == 400 and invalid_hint:
        return AwsCallError(f"{action}: {said}", invalid_hint)
    return AwsCallError(f"{action}: {said}", "run again with --debug to see the calls made")


def _url(error: Exception) -> str:
    return getattr(error, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"


def _network_hint() -> str:
    overrides = sorted(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))
    if overrides:
        return f"check your network, proxy and {', '.join(overrides)}"
    return "check your network connection and proxy settings (HTTPS_PROXY)"
