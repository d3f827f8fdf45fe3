"""OCPI DateTime reading: what the pattern admits, always in UTC, exact to the
microsecond, and the ranges datetime() enforces."""

from datetime import UTC, datetime

import pytest

from ocpi.core.datetime import emitted, parse_datetime


@pytest.mark.parametrize("text,expected", [
    ("2024-02-29T10:00:00Z", datetime(2024, 2, 29, 10, tzinfo=UTC)),
    ("2024-01-01T10:00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),  # no zone: UTC
    ("2024-01-01T10:00:00+00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("2024-01-01T10:00:00-0000", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("2024-01-01T10:00:00.1Z", datetime(2024, 1, 1, 10, 0, 0, 100000, tzinfo=UTC)),
    ("2024-01-01T10:00:00.123456789Z", datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2024-01-01T23:59:59.999", datetime(2024, 1, 1, 23, 59, 59, 999000, tzinfo=UTC)),
])
def test_a_datetime_is_read_in_utc(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("text,why", [
    ("2023-02-29T10:00:00Z", "day is out of range"),
    ("2024-01-01T24:00:00Z", "hour must be in"),
    ("2024-12-31T23:59:60Z", "second must be in"),
    ("0000-01-01T10:00:00Z", "year 0 is out of range"),
    ("2024-01-01 10:00:00Z", "not an OCPI DateTime"),
    ("2024-01-01T10:00:00+01:00", "not an OCPI DateTime"),  # UTC only
    ("2024-W01-1T10:00:00Z", "not an OCPI DateTime"),  # ISO forms outside OCPI's
    ("2024-01-01T10:00Z", "not an OCPI DateTime"),
    ("\uff12\uff10\uff12\uff14-01-01T10:00:00Z", "not an OCPI DateTime"),  # full-width
])
def test_what_is_not_a_datetime_says_why(text, why):
    with pytest.raises(ValueError, match=why):
        parse_datetime(text)


def test_what_goes_out_has_milliseconds_at_most():
    assert emitted("2024-01-01T10:00:00.123456789Z") == "2024-01-01T10:00:00.123Z"
    assert emitted("2024-01-01T10:00:00Z") == "2024-01-01T10:00:00Z"
