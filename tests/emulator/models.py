"""Plain state records of the emulator (all mutation happens under Emulator's lock)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Account:
    """An AWS account assigned to the emulated SSO user, with its permission sets (roles)."""

    account_id: str
    name: str
    email: str
    roles: tuple[str, ...]


DEFAULT_ACCOUNTS = (
    Account("111111111111", "Dev Account", "dev@example.com", ("Admin", "ReadOnly")),
    Account("222222222222", "Prod Account", "prod@example.com", ("Admin", "ReadOnly")),
    Account("333333333333", "Sandbox", "sandbox@example.com", ("Developer", "ReadOnly")),
)


def organisation(accounts: int, roles: int = 2) -> list[Account]:
    """A generated organisation: `accounts` accounts (ids 100000000000 on), each with
    `roles` roles named Role1, Role2, ..."""
    return [
        Account(
            f"{100000000000 + n}",
            f"Account {n}",
            f"account{n}@example.com",
            tuple(f"Role{r + 1}" for r in range(roles)),
        )
        for n in range(accounts)
    ]


@dataclass
class Client:
    """An OIDC client registration."""

    client_id: str
    client_secret: str
    name: str
    client_type: str
    issued_at: int
    expires_at: int
    scopes: list[str] = field(default_factory=list)
    grant_types: list[str] = field(default_factory=list)
    redirect_uris: list[str] = field(default_factory=list)
    issuer_url: str | None = None


@dataclass
class DeviceAuth:
    """A pending device authorization (StartDeviceAuthorization)."""

    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int = 5  # seconds the client must wait between polls; +5 after each SlowDown
    status: str = "pending"  # pending | approved | denied | consumed
    polls: list[float] = field(default_factory=list)  # when it was polled (emulator clock)


@dataclass
class AuthCode:
    """An authorization code issued by GET /authorize (PKCE)."""

    code: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    expires_at: float
    used: bool = False


@dataclass
class Session:
    """A signed-in portal session; access and refresh tokens belong to one."""

    session_id: int
    client_id: str
    start_url: str
    scopes: list[str]
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    session: Session
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    session: Session
    valid: bool = True


@dataclass
class Credential:
    """AWS credentials the emulator handed out (or a static IAM user key)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    account_id: str
    arn: str
    user_id: str
    kind: str  # sso | assumed | user
    role_name: str | None
    expiration: float | None  # epoch seconds; None for IAM user keys
    chained: bool = False  # from AssumeRole with a role's credentials (role chaining)

    def public(self) -> dict:
        return {
            "access_key_id": self.access_key_id,
            "account_id": self.account_id,
            "role_name": self.role_name,
            "arn": self.arn,
            "expiration": self.expiration,
            "kind": self.kind,
        }
