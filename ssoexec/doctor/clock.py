"""The clock rules doctor applies to token files and inherited credentials."""

from __future__ import annotations

from datetime import timedelta

# Clock rules, kept conservative so that a correct clock is never blamed. A token's expiresAt is
# this machine's clock at sign-in plus the session's lifetime, and IAM Identity Center sessions
# last 90 days at most; the client registration expires 90 days after AWS (by AWS's clock)
# registered it, which happens before the token file is written. So this clock is behind if a
# token expires more than 90 days from now, or if AWS registered the client well after this
# machine says it wrote the token file; it jumped back if the file was written in the future.
# Role credentials last 12 hours at most.
LONGEST_SSO_SESSION = timedelta(days=90)
REGISTRATION_LIFETIME = timedelta(days=90)
LONGEST_ROLE_SESSION = timedelta(hours=12)
CLOCK_MARGIN = timedelta(hours=1)
