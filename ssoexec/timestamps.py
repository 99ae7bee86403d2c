"""RFC 3339 timestamps as the AWS CLI writes them, read leniently as other SDKs write them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$"
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_timestamp(text: str) -> datetime:
    """Parse `2026-11-25T19:02:36Z`, with or without fractional seconds, `Z` or an offset.

    A timestamp without a zone is taken as UTC, as botocore does. Raises ValueError.
    """
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(offset if zone[0] == "+" else -offset)
    parsed = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz
    )
    return parsed.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """UTC, a literal `Z`, no fraction: the AWS CLI's cache format, and what the JS SDK wants."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def minutes_left(moment: datetime, now: datetime | None = None) -> int:
    return int((moment - (now or utcnow())).total_seconds() // 60)
