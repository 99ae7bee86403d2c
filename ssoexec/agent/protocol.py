"""The agent's wire format, and the key that says which answer a run needs.

One JSON object per line (UTF-8, ending in `\\n`, at most MAX_LINE bytes); a connection carries
one request and its answer, then closes. Every message has `"v": PROTOCOL`; a message of another
version is treated as no answer at all, except `stop`, which an agent obeys whatever the
version (that is how a new ssoexec replaces the agent an old one started).

Requests (`op`) and their answers:

- `get` {key, env, profile, region[, target]}: `{"ok": true, "credentials": CREDENTIALS,
  "profile_region": str|null}` for credentials held with at least 3/4 of their lifetime left;
  else, when the agent can fetch, `{"wait": true}` at once and the answer when the fetch ends;
  else `{"ok": false, "miss": REASON}`.
- `put` {key, env, profile, region[, target], credentials, profile_region, token_file}: a cold
  run hands over what it fetched -> `{"ok": true}`.
- `wipe` {}: forget everything. `stop` {}: wipe and exit. Both -> `{"ok": true}`.
- `status` {} -> `{"ok": true, "pid", "entries": [{"profile", "region", "minutes_left",
  "refreshable"}], "idle_exit_in"}`: never a secret.
- `peek` {key} -> `{"ok": true, "warm": bool}`, fetching nothing.

`target` is `[sso_session, account_id, role]` for a role named without a profile
(`--sso-session/--account/--role`); `profile` is then its name, `<session>/<account>/<role>`.

CREDENTIALS is `{"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}` as in
credential_process output (Expiration RFC 3339, `Z`), plus `AccountId` when known.

Stdlib only: the warm path imports this before botocore or typer, to compute `request_key`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from ssoexec import __version__
from ssoexec.environment import RoleCredentials
from ssoexec.timestamps import format_timestamp, parse_timestamp

# The interpreter's own sha256: hashlib would load OpenSSL, ~4 MiB and milliseconds more on
# the warm path, which computes one key.
try:
    from _sha256 import sha256  # Python 3.10, 3.11
except ImportError:
    try:
        from _sha2 import sha256  # 3.12 and later
    except ImportError:
        from hashlib import sha256

PROTOCOL = f"{__version__}/1"
MAX_LINE = 64 * 1024  # bytes of one message, its newline included

GET, PUT, WIPE, STOP, STATUS, PEEK = "get", "put", "wipe", "stop", "status", "peek"

# What never goes into a request: the credentials a run may have inherited, and what an outer
# ssoexec set beside them. None of it changes what a run that fetches gets (a run for the
# outer profile reuses them and never asks), and the expiry, new with every outer run, would
# make every nested run for another profile a key of its own.
_CREDENTIAL_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
    | {"AWS_CREDENTIAL_EXPIRATION", "SSOEXEC_EXPIRATION", "SSOEXEC_PROFILE"}
    | {"AWS_CONTAINER_CREDENTIALS_FULL_URI"}
)
_CREDENTIAL_PREFIX = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
# Beyond AWS_* and SSOEXEC_*: what else resolving a profile reads (PATH: a credential_process).
_ALSO_READ = frozenset(
    {"HOME", "PATH", "USER", "LOGNAME", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
    | {f"{name}_proxy" for name in ("http", "https", "no", "all")}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "NO", "ALL")}
)
_MISSING_FILE = "missing"


def resolution_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of `environ` that can change what a run resolves, without its credentials:
    what a request carries, and what the agent's fetch runs with."""
    return {
        name: value
        for name, value in environ.items()
        if (name.startswith(("AWS_", "SSOEXEC_")) or name in _ALSO_READ)
        and name not in _CREDENTIAL_VARIABLES
        and not name.startswith(_CREDENTIAL_PREFIX)
    }


def request_key(
    profile_name: str,
    region_option: str | None,
    environ: Mapping[str, str],
    target: list[str] | None = None,
) -> str:
    """A sha256 hex naming everything that changes a run's answer: the profile, --region, the
    resolution environment, and the identity and modification time of the config and shared
    credentials files (an edit of either makes a new key, so a changed role is never served
    from before the edit)."""
    env = resolution_env(environ)
    home = env.get("HOME") or os.path.expanduser("~")
    files = [
        _file_identity(env.get(variable) or os.path.join(home, ".aws", default))
        for variable, default in (
            ("AWS_CONFIG_FILE", "config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        )
    ]
    text = json.dumps([profile_name, region_option, sorted(env.items()), files, target])
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _file_identity(path: str) -> list:
    path = os.path.expanduser(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return [path, _MISSING_FILE]
    return [path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]


def encode(message: Mapping[str, object]) -> bytes:
    """One line of the protocol; ValueError if it would be longer than MAX_LINE."""
    line = json.dumps({**message, "v": PROTOCOL}, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ValueError(f"a message of {len(line)} bytes is over the {MAX_LINE} limit")
    return line


def decode(line: bytes) -> dict | None:
    """The message in `line` whatever its version, or None when it is not one JSON object."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None


def credentials_to_wire(credentials: RoleCredentials) -> dict[str, str]:
    wire = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
    }
    if credentials.session_token:
        wire["SessionToken"] = credentials.session_token
    if credentials.expiration is not None:
        wire["Expiration"] = format_timestamp(credentials.expiration)
    if credentials.account_id:
        wire["AccountId"] = credentials.account_id
    return wire


def credentials_from_wire(wire: object) -> RoleCredentials | None:
    """RoleCredentials from an answer, or None when the object is not well-formed."""
    if not isinstance(wire, dict):
        return None
    key, secret = wire.get("AccessKeyId"), wire.get("SecretAccessKey")
    token, expiration = wire.get("SessionToken"), wire.get("Expiration")
    account = wire.get("AccountId")
    if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
        return None
    if not all(isinstance(v, str) or v is None for v in (token, expiration, account)):
        return None
    try:
        expires = parse_timestamp(expiration) if expiration else None
    except ValueError:
        return None
    return RoleCredentials(key, secret, token or None, expires, account or None)
