"""Normalised keys: OCPI compares country codes, party ids and ids case-insensitively."""

from datetime import UTC, datetime

from ..core.datetime import parse_datetime
from ..core.types import ci


def party_key(value: str) -> str:
    return value.upper()


def id_key(value: str) -> str:
    return ci(value)


def ts_key(value: str | datetime) -> datetime:
    """Naive UTC datetime for the timestamp columns."""
    dt = parse_datetime(value) if isinstance(value, str) else value
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt
