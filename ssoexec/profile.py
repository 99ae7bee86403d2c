"""Profile name -> resolved profile, from the AWS config as botocore's own loader reads it.

Three kinds come out: an SSO profile (legacy or sso-session), a role chain (role_arn +
source_profile, any depth) and everything else botocore resolves on its own (static keys,
credential_process, credential_source, web identity). The rules and the errors follow botocore's
so that a profile that works with the AWS CLI works here, and one that fails says why.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ssoexec.aws_files import config_path, credentials_path, unreadable
from ssoexec.errors import ConfigError
from ssoexec.files import read_regular_file
from ssoexec.regions import is_region_name
from ssoexec.terminal import shorten

if TYPE_CHECKING:  # clients loads botocore: only the run that calls AWS imports it
    from ssoexec.clients import Aws

DEFAULT_SCOPES = ("sso:account:access",)
# A source_profile chain deeper than this is a mistake (real ones are two or three roles).
MAX_CHAIN = 32
# A config or credentials file is read whole to find what is wrong with it, up to this size.
_CONFIG_LIMIT = 16 * 1024 * 1024
# The [sso-session] key that makes its sign-in use a device code. The AWS CLI has no config key
# for this (only `aws sso login --use-device-code`), and botocore ignores keys it does not know.
DEVICE_CODE_KEY = "ssoexec_device_code"


def _q(value: object) -> str:
    """A value from the user or a file, quoted in a message: printable, cut if long."""
    return repr(shorten(value))


@dataclass(frozen=True)
class SsoSession:
    """What one SSO sign-in covers: an [sso-session] section, or a legacy profile's start URL.
    Its token lives in the AWS CLI cache under `cache_key`."""

    start_url: str
    region: str
    name: str | None = None  # None: a legacy profile's, whose token cannot be refreshed
    scopes: tuple[str, ...] | None = None  # sso_registration_scopes, if configured
    device_code: bool = False  # ssoexec_device_code = true: sign in with a device code

    @property
    def cache_key(self) -> str:
        """What the AWS CLI hashes to name the token file."""
        return self.name or self.start_url

    @property
    def refreshable(self) -> bool:
        return self.name is not None

    def __str__(self) -> str:
        return f"sso-session {_q(self.name)}" if self.name else shorten(self.start_url)


@dataclass(frozen=True)
class SsoProfile:
    name: str
    session: SsoSession
    account_id: str
    role_name: str
    region: str | None = None
    # Named with --sso-session/--account/--role, not in the config: `name` is then
    # <session>/<account>/<role> (direct.DirectTarget's), and no `-p` can name it.
    direct: bool = False

    @property
    def kind(self) -> str:
        return "sso-session" if self.session.name else "sso"


@dataclass(frozen=True)
class StaticKeys:
    """A profile's own keys, the source of a chain whose source_profile is itself."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RoleChainProfile:
    name: str
    role_arn: str
    source: Profile | None  # None: the profile's own static keys are the source
    static_keys: StaticKeys | None = field(default=None, repr=False)
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


def load_config(aws: Aws) -> dict:
    """The merged config and credentials files, parsed by botocore."""
    from botocore.exceptions import ConfigParseError  # botocore: not on a reusing run's path

    try:
        return aws.config()
    except (ConfigParseError, UnicodeDecodeError) as error:
        for path in (config_path(), credentials_path()):
            _check_encoding(path)
        raise ConfigError(
            f"cannot parse the AWS config: {shorten(error, 300)}",
            "fix the file's syntax (a duplicate section or a line outside any section)",
        ) from None
    except OSError as error:
        raise unreadable(config_path(), error) from None


def _check_encoding(path: Path) -> None:
    """Name what botocore's loader cannot read in the file at `path`: a byte order mark (it
    reads the first section header as a line outside any section) or bytes that are not UTF-8."""
    try:
        data = read_regular_file(path, limit=_CONFIG_LIMIT)
    except OSError:
        return
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(
            f"the AWS config file {path} starts with a UTF-8 byte order mark (BOM)",
            "save it as UTF-8 without a BOM (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`)",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"the AWS config file {path} is not UTF-8 text: byte {data[error.start]:#04x} "
            f"on line {line} is not UTF-8",
            "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None


def load_profile(name: str, config: dict) -> Profile:
    """The profile `name` of `config` (load_config's), resolved down its role chain."""
    return _resolve(name, config, visited=())


def _resolve(name: str, config: dict, visited: tuple[str, ...]) -> Profile:
    profiles = config.get("profiles", {})
    if len(visited) >= MAX_CHAIN:
        raise ConfigError(
            f"profile {_q(visited[0])} is a role chain of more than {MAX_CHAIN} profiles "
            f"(source_profile after source_profile, down to {_q(name)})",
            "make the chain end sooner at a profile with SSO settings or keys "
            "(check each source_profile)",
        )
    if name not in profiles:
        raise _unknown_profile(name, profiles, referrer=visited[-1] if visited else None)
    values = profiles[name]
    if "role_arn" in values and "web_identity_token_file" not in values:
        return _role_chain(name, values, config, (*visited, name))
    if "web_identity_token_file" in values:
        return BotocoreProfile(name, "web identity", _region(name, values))
    if "sso_account_id" in values or "sso_role_name" in values:
        return _sso_profile(name, values, config)
    if "aws_access_key_id" in values or "aws_secret_access_key" in values:
        _require(name, values, ("aws_access_key_id", "aws_secret_access_key"), "static keys")
        return BotocoreProfile(name, "static", _region(name, values))
    if "credential_process" in values:
        return BotocoreProfile(name, "process", _region(name, values))
    if "login_session" in values:
        return BotocoreProfile(name, "console login", _region(name, values))
    if "sso_session" in values or "sso_start_url" in values:
        raise ConfigError(
            f"profile {_q(name)} has SSO settings but no sso_account_id and sso_role_name",
            f"add sso_account_id and sso_role_name to [profile {shorten(name)}], "
            "or pick a profile that names an account and role",
        )
    raise ConfigError(
        f"profile {_q(name)} has no credentials configured",
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
                f"profile {_q(name)} uses sso-session {_q(session_name)}, which does not exist",
                f"add an [sso-session {shorten(session_name)}] section with sso_start_url and "
                "sso_region, "
                "or fix the sso_session value",
            )
        for key, value in sessions[session_name].items():
            if key in values and values[key] != value:
                raise ConfigError(
                    f"profile {_q(name)} sets {key} = {shorten(values[key])} but its sso-session "
                    f"{_q(session_name)} says {shorten(value)}",
                    f"remove {key} from [profile {shorten(name)}]; the sso-session's value is used",
                )
            merged[key] = value
    missing = [key for key in ("sso_start_url", "sso_region") if not merged.get(key)]
    if session_name is not None and missing:  # these keys belong in the [sso-session]
        raise ConfigError(
            f"sso-session {_q(session_name)} (of profile {_q(name)}) is missing "
            f"{', '.join(missing)}",
            f"add {' and '.join(missing)} to [sso-session {shorten(session_name)}] "
            f"in {config_path()}",
        )
    _require(
        name, merged, ("sso_start_url", "sso_region", "sso_account_id", "sso_role_name"), "SSO"
    )
    return SsoProfile(
        name=name,
        session=SsoSession(
            start_url=merged["sso_start_url"],
            region=_sso_region(
                merged,
                f"[sso-session {shorten(session_name)}]"
                if session_name is not None and "sso_region" in config["sso_sessions"][session_name]
                else f"[profile {shorten(name)}]",
            ),
            name=session_name,
            scopes=_scopes(merged.get("sso_registration_scopes")),
            device_code=session_name is not None
            and _device_code(session_name, config["sso_sessions"][session_name]),
        ),
        account_id=str(merged["sso_account_id"]),
        role_name=merged["sso_role_name"],
        region=_region(name, values),
    )


def _region(name: str, values: dict) -> str | None:
    """The profile's region = value, if it is a region name."""
    region = values.get("region")
    if region is not None and not is_region_name(region):
        raise ConfigError(
            f"profile {_q(name)} has region = {shorten(region)}, not a region name",
            f"set region in [profile {shorten(name)}] to a region like us-east-1 or eu-west-1",
        )
    return region


def _sso_region(values: dict, section: str) -> str:
    region = values["sso_region"]
    if not is_region_name(region):
        raise ConfigError(
            f"{section} has sso_region = {shorten(region)}, not a region name",
            f"set sso_region in {section} to the region of your IAM Identity Center, "
            "like us-east-1 or eu-west-1",
        )
    return region


def _scopes(text: str | None) -> tuple[str, ...] | None:
    """Comma-separated, blanks dropped, as the AWS CLI reads them; None when not configured."""
    if text is None:
        return None
    return tuple(scope.strip() for scope in text.split(",") if scope.strip())


def _device_code(session_name: str, values: dict) -> bool:
    """The [sso-session]'s ssoexec_device_code: true or false (any case), false when absent."""
    text = values.get(DEVICE_CODE_KEY)
    if text is None:
        return False
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    raise ConfigError(
        f"[sso-session {shorten(session_name)}] has {DEVICE_CODE_KEY} = {shorten(text)}, "
        "not true or false",
        f"set {DEVICE_CODE_KEY} = true (sign in with a device code) or false in "
        f"[sso-session {shorten(session_name)}]",
    )


def _role_chain(name: str, values: dict, config: dict, visited: tuple[str, ...]) -> Profile:
    source_name = values.get("source_profile")
    if source_name is not None and "credential_source" in values:
        raise ConfigError(
            f"profile {_q(name)} sets both source_profile and credential_source",
            f"keep one of the two in [profile {shorten(name)}]",
        )
    if "credential_source" in values:
        return BotocoreProfile(name, "role (credential_source)", _region(name, values))
    if source_name is None:
        raise ConfigError(
            f"profile {_q(name)} has role_arn but no source_profile",
            f"add source_profile = <profile with credentials> to [profile {shorten(name)}]",
        )
    static_keys = None
    source: Profile | None = None
    if source_name == name and "aws_access_key_id" in values:
        _require(name, values, ("aws_access_key_id", "aws_secret_access_key"), "static keys")
        static_keys = StaticKeys(
            access_key_id=values["aws_access_key_id"],
            secret_access_key=values["aws_secret_access_key"],
            session_token=values.get("aws_session_token"),
        )
    elif source_name in visited:
        chain = " -> ".join((*visited, source_name))
        raise ConfigError(
            f"profile {_q(name)} has a source_profile loop: {shorten(chain, 300)}",
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
        region=_region(name, values),
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
            f"profile {_q(name)} has duration_seconds = {shorten(text)}, "
            "not a number from 900 to 43200",
            "use whole seconds, at most 3600 when the source is itself a role (role chaining)",
        )
    return seconds


def _require(name: str, values: dict, keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if not values.get(key)]
    if missing:
        raise ConfigError(
            f"profile {_q(name)} is missing {', '.join(missing)} for {what}",
            f"add {' and '.join(missing)} to [profile {shorten(name)}] in {config_path()}",
        )


def _unknown_profile(name: str, profiles: dict, referrer: str | None) -> ConfigError:
    where = f"source_profile of {_q(referrer)}" if referrer else "profile"
    close = difflib.get_close_matches(name, list(profiles), n=1)
    if close:
        hint = f"did you mean {_q(close[0])}? (`ssoexec list` shows every profile)"
    elif profiles:
        hint = "`ssoexec list` shows the profiles there are; -p, AWS_PROFILE pick one"
    else:
        hint = f"{config_path()} has no profiles: `aws configure sso` writes one"
    return ConfigError(f"{where} {_q(name)} is not in {config_path()}", hint)


def chain_root(profile: Profile) -> Profile:
    """Where a role chain starts: the profile whose own credentials the first AssumeRole uses
    (the profile itself when it is no chain)."""
    while isinstance(profile, RoleChainProfile) and profile.source is not None:
        profile = profile.source
    return profile


def sso_root(profile: Profile) -> SsoProfile | None:
    """The SSO profile at the root of the chain, or None when its credentials are not SSO's."""
    root = chain_root(profile)
    return root if isinstance(root, SsoProfile) else None


def sso_session_of(profile: Profile) -> SsoSession:
    """The SSO session a profile signs in with, at the root of its role chain."""
    root = chain_root(profile)
    if isinstance(root, SsoProfile):
        return root.session
    raise ConfigError(
        f"profile {_q(root.name)} does not use SSO ({root.kind}), so there is nothing to "
        "sign in to",
        "pick a profile with sso_session or sso_start_url, or name one with --sso-session",
    )


def load_sso_session(name: str, config: dict) -> SsoSession:
    """An [sso-session NAME] section of `config` (load_config's)."""
    sessions = config.get("sso_sessions", {})
    if name not in sessions:
        raise _unknown_session(name, sessions)
    values = sessions[name]
    missing = [key for key in ("sso_start_url", "sso_region") if not values.get(key)]
    if missing:
        raise ConfigError(
            f"sso-session {_q(name)} is missing {', '.join(missing)}",
            f"add {' and '.join(missing)} to [sso-session {shorten(name)}] in {config_path()}",
        )
    return SsoSession(
        start_url=values["sso_start_url"],
        region=_sso_region(values, f"[sso-session {shorten(name)}]"),
        name=name,
        scopes=_scopes(values.get("sso_registration_scopes")),
        device_code=_device_code(name, values),
    )


def _unknown_session(name: str, sessions: dict) -> ConfigError:
    close = difflib.get_close_matches(name, list(sessions), n=1)
    if close:
        hint = f"did you mean {_q(close[0])}? (`ssoexec list` shows each profile's sso-session)"
    elif sessions:
        hint = (
            f"the config has {', '.join(_q(s) for s in sorted(sessions)[:10])}; "
            f"`ssoexec configure --sso-session {shorten(name)}` writes a new one"
        )
    else:
        hint = (
            "`ssoexec configure` writes an [sso-session] (or add one with sso_start_url "
            "and sso_region)"
        )
    return ConfigError(f"sso-session {_q(name)} is not in {config_path()}", hint)
