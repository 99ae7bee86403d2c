"""Profile name -> resolved profile, from the AWS config as botocore's own loader reads it.

Three kinds come out: an SSO profile (legacy or sso-session), a role chain (role_arn +
source_profile, any depth) and everything else botocore resolves on its own (static keys,
credential_process, credential_source, web identity). The rules and the errors follow botocore's
so that a profile that works with the AWS CLI works here, and one that fails says why.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

from ssoexec.credentials import RoleCredentials
from ssoexec.errors import ConfigError

DEFAULT_SCOPES = ("sso:account:access",)


@dataclass(frozen=True)
class SsoSession:
    """What one SSO sign-in covers: an [sso-session] section, or a legacy profile's start URL.
    Its token lives in the AWS CLI cache under `cache_key`."""

    start_url: str
    region: str
    name: str | None = None  # None: a legacy profile's, whose token cannot be refreshed
    scopes: tuple[str, ...] | None = None  # sso_registration_scopes, if configured

    @property
    def cache_key(self) -> str:
        """What the AWS CLI hashes to name the token file."""
        return self.name or self.start_url

    @property
    def refreshable(self) -> bool:
        return self.name is not None

    def __str__(self) -> str:
        return f"sso-session {self.name!r}" if self.name else self.start_url


@dataclass(frozen=True)
class SsoProfile:
    name: str
    session: SsoSession
    account_id: str
    role_name: str
    region: str | None = None

    @property
    def kind(self) -> str:
        return "sso-session" if self.session.name else "sso"


@dataclass(frozen=True)
class RoleChainProfile:
    name: str
    role_arn: str
    source: Profile | None  # None: the profile's own static keys are the source
    static_keys: RoleCredentials | None = field(default=None, repr=False)
    external_id: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    mfa_serial: str | None = None
    region: str | None = None
    kind: str = "role chain"


@dataclass(frozen=True)
class BotocoreProfile:
    """A profile botocore resolves by itself: static keys, credential_process, and the like."""

    name: str
    kind: str
    region: str | None = None


Profile = SsoProfile | RoleChainProfile | BotocoreProfile


def config_path() -> str:
    """The config file botocore reads (AWS_CONFIG_FILE or ~/.aws/config)."""
    from ssoexec import clients

    return os.path.expanduser(clients.session().get_config_variable("config_file"))


def load_config() -> dict:
    """The merged config and credentials files, parsed by botocore."""
    from botocore.exceptions import ConfigParseError

    from ssoexec import clients

    try:
        return clients.session().full_config
    except ConfigParseError as error:
        raise ConfigError(
            f"cannot parse the AWS config: {error}",
            "fix the file's syntax (a duplicate section or a line outside any section)",
        ) from None
    except (UnicodeDecodeError, OSError) as error:
        raise ConfigError(
            f"cannot read the AWS config {config_path()}: {error}",
            "check the file's permissions and that it is UTF-8 text",
        ) from None


def load_profile(name: str, config: dict | None = None) -> Profile:
    from ssoexec import clients

    clients.use_profile(name)
    config = load_config() if config is None else config
    return _resolve(name, config, visited=())


def _resolve(name: str, config: dict, visited: tuple[str, ...]) -> Profile:
    profiles = config.get("profiles", {})
    if name not in profiles:
        raise _unknown_profile(name, profiles, referrer=visited[-1] if visited else None)
    values = profiles[name]
    if "role_arn" in values and "web_identity_token_file" not in values:
        return _role_chain(name, values, config, (*visited, name))
    if "web_identity_token_file" in values:
        return BotocoreProfile(name, "web identity", values.get("region"))
    if "sso_account_id" in values or "sso_role_name" in values:
        return _sso_profile(name, values, config)
    if "aws_access_key_id" in values or "aws_secret_access_key" in values:
        _require(name, values, ("aws_access_key_id", "aws_secret_access_key"), "static keys")
        return BotocoreProfile(name, "static", values.get("region"))
    if "credential_process" in values:
        return BotocoreProfile(name, "process", values.get("region"))
    if "login_session" in values:
        return BotocoreProfile(name, "console login", values.get("region"))
    if "sso_session" in values or "sso_start_url" in values:
        raise ConfigError(
            f"profile {name!r} has SSO settings but no sso_account_id and sso_role_name",
            f"add sso_account_id and sso_role_name to [profile {name}], "
            "or pick a profile that names an account and role",
        )
    raise ConfigError(
        f"profile {name!r} has no credentials configured",
        "give it sso_session + sso_account_id + sso_role_name, role_arn + source_profile, "
        "or keys (`aws configure sso` writes an SSO profile)",
    )


def _sso_profile(name: str, values: dict, config: dict) -> SsoProfile:
    merged = dict(values)
    session_name = values.get("sso_session")
    if session_name is not None:
        sessions = config.get("sso_sessions", {})
        if session_name not in sessions:
            raise ConfigError(
                f"profile {name!r} uses sso-session {session_name!r}, which does not exist",
                f"add an [sso-session {session_name}] section with sso_start_url and sso_region, "
                "or fix the sso_session value",
            )
        for key, value in sessions[session_name].items():
            if key in values and values[key] != value:
                raise ConfigError(
                    f"profile {name!r} sets {key} = {values[key]} but its sso-session "
                    f"{session_name!r} says {value}",
                    f"remove {key} from [profile {name}]; the sso-session's value is used",
                )
            merged[key] = value
    _require(
        name, merged, ("sso_start_url", "sso_region", "sso_account_id", "sso_role_name"), "SSO"
    )
    return SsoProfile(
        name=name,
        session=SsoSession(
            start_url=merged["sso_start_url"],
            region=merged["sso_region"],
            name=session_name,
            scopes=_scopes(merged.get("sso_registration_scopes")),
        ),
        account_id=str(merged["sso_account_id"]),
        role_name=merged["sso_role_name"],
        region=values.get("region"),
    )


def _scopes(text: str | None) -> tuple[str, ...] | None:
    """Comma-separated, blanks dropped, as the AWS CLI reads them; None when not configured."""
    if text is None:
        return None
    return tuple(scope.strip() for scope in text.split(",") if scope.strip())


def _role_chain(name: str, values: dict, config: dict, visited: tuple[str, ...]) -> Profile:
    source_name = values.get("source_profile")
    if source_name is not None and "credential_source" in values:
        raise ConfigError(
            f"profile {name!r} sets both source_profile and credential_source",
            f"keep one of the two in [profile {name}]",
        )
    if "credential_source" in values:
        return BotocoreProfile(name, "role (credential_source)", values.get("region"))
    if source_name is None:
        raise ConfigError(
            f"profile {name!r} has role_arn but no source_profile",
            f"add source_profile = <profile with credentials> to [profile {name}]",
        )
    static_keys = None
    source: Profile | None = None
    if source_name == name and "aws_access_key_id" in values:
        _require(name, values, ("aws_access_key_id", "aws_secret_access_key"), "static keys")
        static_keys = RoleCredentials(
            access_key_id=values["aws_access_key_id"],
            secret_access_key=values["aws_secret_access_key"],
            session_token=values.get("aws_session_token"),
        )
    elif source_name in visited:
        chain = " -> ".join((*visited, source_name))
        raise ConfigError(
            f"profile {name!r} has a source_profile loop: {chain}",
            "make the chain end at a profile with SSO settings or keys",
        )
    else:
        source = _resolve(source_name, config, visited)
    return RoleChainProfile(
        name=name,
        role_arn=values["role_arn"],
        source=source,
        static_keys=static_keys,
        external_id=values.get("external_id"),
        role_session_name=values.get("role_session_name"),
        duration_seconds=_duration(name, values.get("duration_seconds")),
        mfa_serial=values.get("mfa_serial"),
        region=values.get("region"),
    )


def _duration(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if not 900 <= seconds <= 43200:
        raise ConfigError(
            f"profile {name!r} has duration_seconds = {text}, not a number from 900 to 43200",
            "use whole seconds, at most 3600 when the source is itself a role (role chaining)",
        )
    return seconds


def _require(name: str, values: dict, keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if not values.get(key)]
    if missing:
        raise ConfigError(
            f"profile {name!r} is missing {', '.join(missing)} for {what}",
            f"add {' and '.join(missing)} to [profile {name}] in {config_path()}",
        )


def _unknown_profile(name: str, profiles: dict, referrer: str | None) -> ConfigError:
    where = f"source_profile of {referrer!r}" if referrer else "profile"
    close = difflib.get_close_matches(name, list(profiles), n=1)
    if close:
        hint = f"did you mean {close[0]!r}? (`ssoexec list` shows every profile)"
    elif profiles:
        hint = "`ssoexec list` shows the profiles there are; -p, AWS_PROFILE pick one"
    else:
        hint = f"{config_path()} has no profiles: `aws configure sso` writes one"
    return ConfigError(f"{where} {name!r} is not in {config_path()}", hint)


def sso_session_of(profile: Profile) -> SsoSession:
    """The SSO session a profile signs in with, at the root of its role chain."""
    while isinstance(profile, RoleChainProfile) and profile.source is not None:
        profile = profile.source
    if isinstance(profile, SsoProfile):
        return profile.session
    raise ConfigError(
        f"profile {profile.name!r} does not use SSO ({profile.kind}), so there is nothing to "
        "sign in to",
        "pick a profile with sso_session or sso_start_url, or name one with --sso-session",
    )


def load_sso_session(name: str, config: dict | None = None) -> SsoSession:
    """An [sso-session NAME] section of the config."""
    config = load_config() if config is None else config
    sessions = config.get("sso_sessions", {})
    if name not in sessions:
        close = difflib.get_close_matches(name, list(sessions), n=1)
        raise ConfigError(
            f"sso-session {name!r} is not in {config_path()}",
            f"did you mean {close[0]!r}?"
            if close
            else f"add an [sso-session {name}] section with sso_start_url and sso_region",
        )
    values = sessions[name]
    missing = [key for key in ("sso_start_url", "sso_region") if not values.get(key)]
    if missing:
        raise ConfigError(
            f"sso-session {name!r} is missing {', '.join(missing)}",
            f"add {' and '.join(missing)} to [sso-session {name}] in {config_path()}",
        )
    return SsoSession(
        start_url=values["sso_start_url"],
        region=values["sso_region"],
        name=name,
        scopes=_scopes(values.get("sso_registration_scopes")),
    )
