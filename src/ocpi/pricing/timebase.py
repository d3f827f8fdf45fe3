"""Instants as whole microseconds since the Unix epoch (UTC): exact integers, so
durations and boundaries never carry binary-float error; and the Location's
local time, for the restrictions written in it."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.datetime import parse_datetime
from .errors import PricingError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def instant(value: object, what: str) -> int:
    """An OCPI DateTime (text, or an aware datetime; a naive one is UTC, as a
    DateTime without zone designator is)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value)
        except ValueError as exc:
            raise PricingError(f"{what}: {exc}") from None
    else:
        raise PricingError(f"{what}: {value!r} is not a DateTime")
    return (moment - EPOCH) // _MICRO


def to_datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def zone(name: str | None) -> ZoneInfo:
    """The Location's ``time_zone``; a missing one is an error, never UTC by guess."""
    if name is None or name == "#NA" or not isinstance(name, str) or not name.strip():
        raise PricingError("the tariff has time, date or day-of-week restrictions, which "
                           "are in the Location's local time, but the Location has no "
                           "time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError(f"time_zone {name!r} is not an IANA time zone") from None


class LocalClock:
    """Local wall-clock moments as instants, memoised per call: elements share
    their day boundaries, so each is converted once.

    A wall-clock time skipped by a DST change (02:30 on the spring-forward day)
    is read with the offset before the change, i.e. 03:30 new time, and a
    repeated one (the autumn hour) as its first occurrence, as RFC 5545 does."""

    __slots__ = ("_cache", "_zone")

    def __init__(self, tz: ZoneInfo) -> None:
        self._zone = tz
        self._cache: dict[tuple[date, int], int] = {}

    def at(self, day: date, minutes: int) -> int:
        """The instant of ``minutes`` after midnight on local ``day`` (1440 is the
        next midnight)."""
        key = (day, minutes)
        found = self._cache.get(key)
        if found is None:
            if minutes >= 24 * 60:
                day, minutes = day + timedelta(days=minutes // (24 * 60)), minutes % (24 * 60)
            local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                             tzinfo=self._zone)
            found = self._cache[key] = (local - EPOCH) // _MICRO
        return found

    def day_of(self, micros: int) -> date:
        return to_datetime(micros).astimezone(self._zone).date()
