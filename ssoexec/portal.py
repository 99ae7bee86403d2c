"""The AWS access portal's list of accounts and roles (AWS SSO ListAccounts and
ListAccountRoles, every page), with a valid token: refreshed, or signed in where a person is
there to do it."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ssoexec import clients, sso_token
from ssoexec.choices import person_there
from ssoexec.clients import Aws
from ssoexec.configure_plan import Assignment
from ssoexec.errors import LoginRequired, SsoexecError
from ssoexec.profile import SsoSession
from ssoexec.progress import Tally
from ssoexec.sso_token import TokenRefused
from ssoexec.terminal import printable, shorten
from ssoexec.token_cache import AccessToken

log = logging.getLogger(__name__)
ACCOUNTS_PAGE = 100  # accounts a ListAccounts page: the most the portal gives
WORKERS = 4  # ListAccountRoles calls at once: enough to keep up with the portal's rate limit


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
    """ListAccounts, then ListAccountRoles for each account (a few at once), every page of
    both, at the rate the portal allows (see Aws.sso). Raises TokenRefused when the portal
    answers 401 to the token. A listing that takes a while shows its progress (Tally)."""
    with (
        clients.translate_errors(
            "listing your accounts and roles (AWS SSO ListAccounts, ListAccountRoles)",
            denied_hint="ask your administrator to assign you an account in IAM Identity Center",
        ),
        Tally() as tally,
    ):
        client = aws.sso(session.region, listing=True)
        try:
            accounts = _accounts(client, access_token, tally)
            found = _roles(client, access_token, accounts, tally)
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


def fetch_account_roles(
    session: SsoSession, access_token: str, account_id: str, aws: Aws
) -> list[str]:
    """The roles the portal offers in one account (ListAccountRoles, every page), sorted; none
    when it offers none or refuses the account (403). Raises TokenRefused on a 401."""
    with clients.translate_errors(
        f"listing your roles in account {account_id} (AWS SSO ListAccountRoles)",
        denied_hint="ask your administrator to assign you a role in that account",
    ):
        client = aws.sso(session.region, listing=True)
        try:
            roles = _every_item(
                client,
                "list_account_roles",
                "roleList",
                accessToken=access_token,
                accountId=account_id,
            )
        except client.exceptions.UnauthorizedException:
            raise TokenRefused from None
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ForbiddenException":
                return []
            raise
    return sorted({str(role.get("roleName", "")) for role in roles} - {""})


def _accounts(client, access_token: str, tally: Tally) -> list[dict]:
    accounts: list[dict] = []
    pages = client.get_paginator("list_accounts").paginate(
        accessToken=access_token, PaginationConfig={"PageSize": ACCOUNTS_PAGE}
    )
    for page in pages:
        accounts.extend(page.get("accountList", []))
        tally.show(0, len(accounts), 0, all_listed=False)
    return accounts


def _roles(client, access_token: str, accounts: list[dict], tally: Tally) -> set[Assignment]:
    """Each account's roles, WORKERS accounts at once; the first failure ends the listing."""
    found: set[Assignment] = set()
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ssoexec-list") as pool:
        pending = {
            pool.submit(
                _every_item,
                client,
                "list_account_roles",
                "roleList",
                accessToken=access_token,
                accountId=account["accountId"],
            ): account
            for account in accounts
        }
        try:
            while pending:
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    account = pending.pop(future)
                    name = account.get("accountName") or ""
                    found.update(
                        Assignment(account["accountId"], r["roleName"], name)
                        for r in future.result()
                    )
                tally.show(len(accounts) - len(pending), len(accounts), len(found))
        finally:
            for future in pending:
                future.cancel()
    return found


def _every_item(client, operation: str, key: str, **params) -> list[dict]:
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]
