"""Whether a tariff element's restrictions hold, segment by segment.

A segment is a stretch of one charging period inside which no restriction can
change (the timeline cuts at every boundary first), so one test at its
midpoint decides it; the midpoint also keeps each boundary on the side the
specification gives it (start_time, start_date, min_* inclusive; end_time,
end_date, max_* exclusive). Quantities are doubled to keep midpoints whole.
"""

from decimal import Decimal

from .decimals import MICROS_PER_SECOND, Quantity
from .errors import PricingError
from .periods import Span
from .tariff import Element
from .timebase import LocalClock
from .windows import Interval, active_intervals


class Rule:
    """One element's restrictions over one timeline (session or reservation)."""

    __slots__ = ("_cursor", "_intervals", "_max_at", "_max_at2", "_max_kwh2", "_min_at",
                 "_min_at2", "_min_kwh2", "element", "kwh_limits", "levels")

    def __init__(self, element: Element, clock: LocalClock | None, origin: int,
                 first: int, last: int) -> None:
        r = element.restrictions
        self.element = element
        self._intervals: list[Interval] | None = None
        if r.local:
            assert clock is not None  # the caller asks for a time zone first
            self._intervals = active_intervals(r, clock, first, last)
        self._cursor = 0
        # min/max_duration: seconds since the start of the session (ocpi/ocpi#434, #566)
        self._min_at = None if r.min_duration is None \
            else origin + r.min_duration * MICROS_PER_SECOND
        self._max_at = None if r.max_duration is None \
            else origin + r.max_duration * MICROS_PER_SECOND
        self._min_at2 = None if self._min_at is None else 2 * self._min_at
        self._max_at2 = None if self._max_at is None else 2 * self._max_at
        self._min_kwh2 = None if r.min_kwh is None else 2 * r.min_kwh
        self._max_kwh2 = None if r.max_kwh is None else 2 * r.max_kwh
        self.kwh_limits = [v for v in (r.min_kwh, r.max_kwh) if v is not None]
        self.levels = tuple((which, bound, limit) for which, bound, limit in (
            ("power", "min", r.min_power), ("power", "max", r.max_power),
            ("current", "min", r.min_current), ("current", "max", r.max_current))
            if limit is not None)

    def boundaries(self) -> list[Quantity]:
        """The instants where this element may switch on or off by time."""
        found: list[Quantity] = []
        if self._intervals is not None:
            for begin, end in self._intervals:
                found += (begin, end)
        found += (at for at in (self._min_at, self._max_at) if at is not None)
        return found

    def holds(self, mid2: Quantity, kwh2: Decimal, span: Span) -> bool:
        """Whether the restrictions hold at the segment whose start plus end is
        ``mid2`` and whose cumulative energy at start plus at end is ``kwh2``.
        Calls come in time order (the window cursor only moves forward)."""
        intervals = self._intervals
        if intervals is not None:
            cursor = self._cursor
            while cursor < len(intervals) and 2 * intervals[cursor][1] <= mid2:
                cursor += 1
            self._cursor = cursor
            if cursor == len(intervals) or 2 * intervals[cursor][0] > mid2:
                return False
        if self._min_at2 is not None and mid2 < self._min_at2:
            return False
        if self._max_at2 is not None and mid2 >= self._max_at2:
            return False
        if self._min_kwh2 is not None and kwh2 < self._min_kwh2:
            return False
        if self._max_kwh2 is not None and kwh2 >= self._max_kwh2:
            return False
        for which, bound, limit in self.levels:
            level = span.level(which, bound)
            if level is None:
                unit = "CURRENT, MIN_CURRENT or MAX_CURRENT" if which == "current" \
                    else "POWER, MIN_POWER or MAX_POWER"
                raise PricingError(
                    f"element {self.element.index} restricts {bound}_{which} but charging "
                    f"period {span.index} gives no {which} ({unit})")
            if (level < limit) if bound == "min" else (level >= limit):
                return False
        return True
