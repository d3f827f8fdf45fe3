"""When, in UTC instants, an element's local-time restrictions hold.

Reading (see docs/pricing.md, "Time of day, dates and days of the week"):

- ``start_time``/``end_time`` make one window per local day, from ``start_time``
  (00:00 if absent) to ``end_time`` (midnight if absent or 00:00). When the end
  is not after the start the window wraps to the next day, as the 2.2.1/2.3.0
  TariffRestrictions table says ("If end_time < start_time then the period
  wraps around to the next day"); equal times make a 24-hour window.
- ``day_of_week`` selects the day a window *starts* on: FRIDAY 22:00-06:00 holds
  from Friday 22:00 to Saturday 06:00, and not on Friday 00:00-06:00 (that
  part is Thursday's window).
- ``start_date``/``end_date`` are points in linear local time (ocpi/ocpi#499):
  from ``start_date`` 00:00 (inclusive) to ``end_date`` 00:00 (exclusive),
  intersected with the windows.
"""

from collections.abc import Iterator
from datetime import timedelta

from .tariff import Restrictions
from .timebase import LocalClock

END_OF_DAY = 24 * 60  # minutes
FOREVER = 1 << 62  # far beyond any instant this engine meets (µs: ~146,000 years)
_DAY = timedelta(days=1)

Interval = tuple[int, int]


def active_intervals(rules: Restrictions, clock: LocalClock, first: int, last: int
                     ) -> list[Interval]:
    """Sorted, disjoint [from, until) instants where the local restrictions hold,
    covering at least the span ``first``..``last``."""
    low = -FOREVER if rules.start_date is None else clock.at(rules.start_date, 0)
    high = FOREVER if rules.end_date is None else clock.at(rules.end_date, 0)
    if low >= high:
        return []
    if rules.start_time is None and rules.end_time is None and rules.days is None:
        return [(low, high)]
    merged: list[Interval] = []
    for begin, end in _windows(rules, clock, first, last):
        begin, end = max(begin, low), min(end, high)
        if begin >= end:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _windows(rules: Restrictions, clock: LocalClock, first: int, last: int
             ) -> Iterator[Interval]:
    """One window per local day from the day before ``first`` (whose window may
    still be open) to the day of ``last``."""
    start = 0 if rules.start_time is None else rules.start_time
    end = END_OF_DAY if rules.end_time in (None, 0) else rules.end_time
    if end <= start:  # wraps past midnight
        end += END_OF_DAY
    day, final = clock.day_of(first) - _DAY, clock.day_of(last)
    while day <= final:
        if rules.days is None or day.weekday() in rules.days:
            yield clock.at(day, start), clock.at(day, end)
        day += _DAY
