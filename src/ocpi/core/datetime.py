"""OCPI DateTime: RFC 3339 subset, always UTC, ``Z`` optional."""

import re
from datetime import UTC, datetime

_PATTERN = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]00:?00)?$"
)


def parse_datetime(value: str) -> datetime:
    """Parse an OCPI DateTime; a missing zone designator means UTC.

    Raises ``ValueError`` naming the expected pattern.
    """
    m = _PATTERN.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"{value!r} is not an OCPI DateTime (expected e.g. 2024-01-01T10:00:00Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7)[1:] + "000000")[:6]) if m.group(7) else 0
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """Render as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_text() -> str:
    """Current time, whole seconds, as OCPI DateTime text."""
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
