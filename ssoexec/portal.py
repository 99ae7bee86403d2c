"""The AWS access portal's list of accounts and roles (AWS SSO ListAccounts and
ListAccountRoles, every page), with a valid token: refreshed, or signed in where a person is
there to do it."""

from __future__ import annotations

import logging

from ssoexec import clients, sso_token
from ssoexec.choices import person_there
from ssoexec.clients import Aws
from ssoexec.configure_plan import Assignment
from ssoexec.errors import LoginRequired, SsoexecError
from ssoexec.profile import SsoSession
from ssoexec.sso_token import TokenRefused
from ssoexec.terminal import printable, shorten
from ssoexec.token_cache import AccessToken

log = logging.getLogger(__name__)


def list_assignments(session: SsoSession, new_session: bool, aws: Aws) -> list[Assignment]:
    """Every account and role, with a valid token (signed in if need be and possible). A token
    the portal refuses (401) gets one refresh or sign-in, then the listing again."""

    def sign_in(session: SsoSession) -> AccessToken:
        from ssoexec.login import sign_in  # the listener and browser code: only to sign in

        return sign_in(session, aws)

    try:
        return sso_token.with_valid_token(
            session,
            aws,
            lambda token: fetch_assignments(session, token.access_token, aws),
            login=sign_in if person_there() else None,
        )
    except LoginRequired as error:
        if not new_session:
            raise
        raise SsoexecError(
            error.message,
            "run `ssoexec configure` at a terminal (not in CI) to sign in to "
            f"{shorten(session.start_url)}",
        ) from None


def fetch_assignments(session: SsoSession, access_token: str, aws: Aws) -> list[Assignment]:
    """ListAccounts, then ListAccountRoles for each account, every page of both. Raises
    TokenRefused when the portal answers 401 to the token."""
    found: set[Assignment] = set()
    with clients.translate_errors(
        "listing your accounts and roles (AWS SSO ListAccounts, ListAccountRoles)",
        denied_hint="ask your administrator to assign you an account in IAM Identity Center",
    ):
        client = aws.sso(session.region)
        try:
            accounts = _every_item(client, "list_accounts", "accountList", accessToken=access_token)
            for account in accounts:
                roles = _every_item(
                    client,
                    "list_account_roles",
                    "roleList",
                    accessToken=access_token,
                    accountId=account["accountId"],
                )
                name = account.get("accountName") or ""
                found.update(Assignment(account["accountId"], r["roleName"], name) for r in roles)
        except client.exceptions.UnauthorizedException:
            raise TokenRefused from None
    log.debug("the portal lists %d account(s), %d role(s)", len(accounts), len(found))
    for assignment in found:  # they go into the file; AWS allows no such characters in them
        for what, value in (("account id", assignment.account_id), ("role", assignment.role_name)):
            if printable(value) != value or not value.strip():
                raise SsoexecError(
                    f"AWS SSO listed a {what} {shorten(value)!r} that cannot go into the "
                    "AWS config (control characters or blank)",
                    "nothing was changed; check AWS_ENDPOINT_URL_SSO, or report it to your "
                    "administrator",
                )
    return sorted(found)


def _every_item(client, operation: str, key: str, **params) -> list[dict]:
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]
