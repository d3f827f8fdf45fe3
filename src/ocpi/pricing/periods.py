"""ChargingPeriods read into spans: start and end instants, energy, and how the
span's wall-clock time divides between charging and parking.

Readings (docs/pricing.md, "Charging periods"):

- A period lasts until the next period's start; the last until ``end``.
- Charging and parking *time* are the period's wall-clock duration. The TIME
  and PARKING_TIME volumes only say how it divides (in their ratio): volumes
  travel in hours rounded to 4 decimals (0.36 s), which would tip step_size
  rounding over a step. A period with neither is charging when it has energy,
  else parking.
- Negative volumes (energy fed back, 2.2+) are not priced: OCPI tariffs have no
  export price, so such a period counts zero kWh.
- Power and current, for the min/max restrictions, come from the period's
  MIN_/MAX_ dimensions, else its average (CURRENT, POWER, or energy divided by
  charging time); see ``Span.level``.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .decimals import MICROS_PER_HOUR, ZERO, Quantity, number, share
from .errors import PricingError
from .timebase import instant

CHARGING_DIMENSIONS = ("ENERGY", "TIME", "PARKING_TIME")


@dataclass(slots=True)
class Span:
    index: int  # the period's position in the caller's list
    start: int  # µs since the epoch
    end: int
    energy: Decimal  # kWh, >= 0
    charging: Quantity  # µs of the span spent charging; the rest is parking
    # (lowest, average, highest) as the period reports them; None when it does not
    power: tuple[Decimal | None, Decimal | None, Decimal | None]
    current: tuple[Decimal | None, Decimal | None, Decimal | None]

    def level(self, which: str, bound: str) -> Decimal | None:
        """The power or current a ``min_``/``max_`` restriction compares: for
        ``max_`` the period's highest value, else its average, else its lowest
        (a lowest already at or above the limit decides it); for ``min_`` the
        reverse. No charging at all is 0; otherwise unknown is None."""
        low, average, high = self.power if which == "power" else self.current
        order = (high, average, low) if bound == "max" else (low, average, high)
        for value in order:
            if value is not None:
                return value
        return ZERO if not self.energy and not self.charging else None


def read_periods(raw: Any, end: int, tariff_id: str) -> tuple[list[Span], list[Span]]:
    """(reservation spans, charging spans), each in time order. A period with a
    RESERVATION_TIME dimension and no energy, charging or parking volume belongs
    to the reservation before the session (2.2+ CDRs put it there)."""
    if not isinstance(raw, list):
        raise PricingError("charging periods are not a list")
    rows = []
    for n, period in enumerate(raw):
        if not isinstance(period, dict):
            raise PricingError(f"charging period {n} is not an object")
        named = period.get("tariff_id")
        if named is not None and str(named).upper() != tariff_id.upper():
            raise PricingError(f"charging period {n} is priced by tariff {named!r}, not "
                               f"{tariff_id!r}: price each tariff's periods separately")
        rows.append((instant(period.get("start_date_time"),
                             f"charging period {n} start_date_time"), n,
                     _volumes(period.get("dimensions"), n)))
    rows.sort(key=lambda row: (row[0], row[1]))
    if rows and end < rows[-1][0]:
        raise PricingError("the session ends before its last charging period starts")
    reservation: list[Span] = []
    charging: list[Span] = []
    for position, (start, n, volumes) in enumerate(rows):
        stop = rows[position + 1][0] if position + 1 < len(rows) else end
        span = _span(n, start, stop, volumes)
        if "RESERVATION_TIME" in volumes and not any(
                volumes.get(d, ZERO) > 0 for d in CHARGING_DIMENSIONS):
            if charging:
                raise PricingError(f"charging period {n} is reservation time after the "
                                   "charging session started")
            reservation.append(span)
        else:
            charging.append(span)
    return reservation, charging


def _volumes(raw: Any, n: int) -> dict[str, Decimal]:
    if not isinstance(raw, list):
        raise PricingError(f"charging period {n} has no dimensions list")
    volumes: dict[str, Decimal] = {}
    for dimension in raw:
        if not isinstance(dimension, dict) or not isinstance(dimension.get("type"), str):
            raise PricingError(f"charging period {n}: a dimension has no type")
        kind = dimension["type"]
        if kind in volumes:
            raise PricingError(f"charging period {n} gives {kind} twice")
        volumes[kind] = number(dimension.get("volume"), f"charging period {n} {kind} volume")
    return volumes


def _span(n: int, start: int, end: int, volumes: dict[str, Decimal]) -> Span:
    length = end - start
    energy = max(volumes.get("ENERGY", ZERO), ZERO)
    time = max(volumes.get("TIME", ZERO), ZERO)
    parking = max(volumes.get("PARKING_TIME", ZERO), ZERO)
    if time + parking > 0:
        charging: Quantity = share(length, time, time + parking) if parking else length
        if isinstance(charging, Decimal) and charging == charging.to_integral_value():
            charging = int(charging)
    else:
        charging = length if energy > 0 else 0
    average_power = volumes.get("POWER")
    if average_power is None and charging:
        average_power = energy * MICROS_PER_HOUR / Decimal(charging)
    return Span(
        index=n, start=start, end=end, energy=energy, charging=charging,
        power=(volumes.get("MIN_POWER"), average_power, volumes.get("MAX_POWER")),
        current=(volumes.get("MIN_CURRENT"), volumes.get("CURRENT"),
                 volumes.get("MAX_CURRENT")))
