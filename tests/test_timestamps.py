from datetime import datetime, timezone

import pytest

from ssoexec.timestamps import format_timestamp, parse_timestamp

MOMENT = datetime(2026, 11, 25, 19, 2, 36, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T19:02:36Z",  # the AWS CLI and botocore
        "2026-11-25T19:02:36.000Z",  # the JavaScript SDK
        "2026-11-25T19:02:36.000000Z",
        "2026-11-25T19:02:36+00:00",  # datetime.isoformat()
        "2026-11-25T20:02:36+01:00",
        "2026-11-25T14:02:36-0500",
        "2026-11-25T19:02:36UTC",  # seen in older tools
        "2026-11-25T19:02:36",  # no zone: UTC, as botocore reads it
        "2026-11-25 19:02:36Z",
    ],
)
def test_parse_is_lenient(text):
    assert parse_timestamp(text) == MOMENT


def test_fractions_are_kept():
    assert parse_timestamp("2026-11-25T19:02:36.5Z").microsecond == 500000


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-11-25", "2026-13-25T00:00:00Z"])
def test_parse_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_is_the_aws_cli_form():
    assert format_timestamp(MOMENT) == "2026-11-25T19:02:36Z"
    assert format_timestamp(parse_timestamp("2026-11-25T20:02:36.9+01:00")) == (
        "2026-11-25T19:02:36Z"
    )
