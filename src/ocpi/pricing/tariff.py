"""A Tariff dict (the node's canonical 2.3.0 shape) read once into typed parts.

Everything the engine relies on is checked here, so a malformed tariff fails
with a reason before any arithmetic: unknown dimensions, restriction times that
are not ``HH:MM``, dates that are not days, negative step sizes.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .decimals import number, whole
from .errors import PricingError
from .timebase import instant

# the values that decide a price; modules/tariffs/schemas.py validates Tariffs with these
DIMENSIONS = ("ENERGY", "FLAT", "PARKING_TIME", "TIME")
DAYS = {"MONDAY": 0, "TUESDAY": 1, "WEDNESDAY": 2, "THURSDAY": 3, "FRIDAY": 4,
        "SATURDAY": 5, "SUNDAY": 6}
RESERVATION = "RESERVATION"
RESERVATION_EXPIRES = "RESERVATION_EXPIRES"
TAX_INCLUDED = ("YES", "NO", "N/A")
VERSIONS = {"2.1.1": "2.1.1", "2.2": "2.2.1", "2.2.1": "2.2.1", "2.3.0": "2.3.0"}
_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
# restriction fields that OCPI 2.1.1 does not have
_NOT_IN_211 = ("min_current", "max_current", "reservation")


@dataclass(frozen=True, slots=True)
class Component:
    """A PriceComponent; ``element`` makes equal prices in two elements distinct."""

    element: int
    dimension: str
    price: Decimal
    vat: Decimal | None
    step_size: int


@dataclass(frozen=True, slots=True)
class Restrictions:
    start_time: int | None = None  # minutes after local midnight
    end_time: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    days: frozenset[int] | None = None  # Monday is 0
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_duration: int | None = None  # seconds
    max_duration: int | None = None
    reservation: str | None = None

    @property
    def local(self) -> bool:
        """Whether matching needs the Location's local time."""
        return (self.start_time is not None or self.end_time is not None
                or self.start_date is not None or self.end_date is not None
                or self.days is not None)


@dataclass(frozen=True, slots=True)
class Element:
    index: int
    components: dict[str, Component]  # the first component of each dimension
    restrictions: Restrictions


@dataclass(frozen=True, slots=True)
class Limit:
    """A PriceLimit (min_price or max_price)."""

    before_taxes: Decimal
    after_taxes: Decimal | None


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    currency: str
    elements: tuple[Element, ...]
    tax_included: str
    min_price: Limit | None
    max_price: Limit | None
    valid_from: int | None  # µs since the epoch, UTC
    valid_until: int | None

    @property
    def needs_local_time(self) -> bool:
        return any(e.restrictions.local for e in self.elements)


def read_version(version: str) -> str:
    try:
        return VERSIONS[version]
    except (KeyError, TypeError):
        raise PricingError(f"OCPI version {version!r}: the engine knows "
                           f"{', '.join(sorted(VERSIONS))}") from None


# real tariffs have a handful of elements (the specification's most complex: 6); every
# element multiplies the work per segment, so a partner's tariff of thousands is refused
MAX_ELEMENTS = 100


def read_tariff(raw: Any, version: str) -> Tariff:
    if not isinstance(raw, dict):
        raise PricingError("the tariff is not an object")
    tariff_id = str(raw.get("id", "?"))
    elements = raw.get("elements")
    if not isinstance(elements, list) or not elements:
        raise PricingError(f"tariff {tariff_id!r} has no elements")
    if len(elements) > MAX_ELEMENTS:
        raise PricingError(f"tariff {tariff_id!r} has {len(elements)} elements: more than "
                           f"the {MAX_ELEMENTS} the engine prices")
    parsed = tuple(_element(i, e, version) for i, e in enumerate(elements))
    tax_included = raw.get("tax_included") or "NO"
    if tax_included not in TAX_INCLUDED:
        raise PricingError(f"tax_included {tax_included!r} is not one of {TAX_INCLUDED}")
    return Tariff(
        id=tariff_id, currency=str(raw.get("currency") or ""), elements=parsed,
        tax_included=tax_included,
        min_price=_limit(raw.get("min_price"), "min_price"),
        max_price=_limit(raw.get("max_price"), "max_price"),
        valid_from=_moment(raw.get("start_date_time"), "start_date_time"),
        valid_until=_moment(raw.get("end_date_time"), "end_date_time"))


def _element(index: int, raw: Any, version: str) -> Element:
    where = f"element {index}"
    if not isinstance(raw, dict):
        raise PricingError(f"{where} is not an object")
    components: dict[str, Component] = {}
    listed = raw.get("price_components")
    if not isinstance(listed, list) or not listed:
        raise PricingError(f"{where} has no price_components")
    for n, comp in enumerate(listed):
        component = _component(index, comp, f"{where}, price component {n}")
        components.setdefault(component.dimension, component)
    restrictions = raw.get("restrictions")
    if restrictions is None:
        return Element(index, components, Restrictions())
    if not isinstance(restrictions, dict):
        raise PricingError(f"{where}: restrictions is not an object")
    if version == "2.1.1":
        extra = [k for k in _NOT_IN_211 if restrictions.get(k) is not None]
        if extra:
            raise PricingError(f"{where} restricts on {', '.join(extra)}, which OCPI 2.1.1 "
                               "does not have; price it under 2.2.1 or 2.3.0 rules")
    return Element(index, components, _restrictions(restrictions, where))


def _component(element: int, raw: Any, where: str) -> Component:
    if not isinstance(raw, dict):
        raise PricingError(f"{where} is not an object")
    dimension = raw.get("type")
    if dimension not in DIMENSIONS:
        raise PricingError(f"{where}: type {dimension!r} is not one of {DIMENSIONS}")
    price = number(raw.get("price"), f"{where} price")
    vat = raw.get("vat")
    step = raw.get("step_size")
    step_size = 0 if step is None and dimension == "FLAT" else whole(step, f"{where} step_size")
    if step_size < 0:
        raise PricingError(f"{where}: step_size {step_size} is negative")
    return Component(element, dimension, price,
                     None if vat is None else number(vat, f"{where} vat"), step_size)


def _restrictions(raw: dict[str, Any], where: str) -> Restrictions:
    def num(key: str) -> Decimal | None:
        value = raw.get(key)
        return None if value is None else number(value, f"{where} {key}")

    days = raw.get("day_of_week")
    if days:
        if not isinstance(days, list) or any(d not in DAYS for d in days):
            raise PricingError(f"{where}: day_of_week {days!r} is not a list of DayOfWeek")
        day_set: frozenset[int] | None = frozenset(DAYS[d] for d in days)
    else:
        day_set = None
    reservation = raw.get("reservation")
    if reservation not in (None, RESERVATION, RESERVATION_EXPIRES):
        raise PricingError(f"{where}: reservation {reservation!r} is not a "
                           "ReservationRestrictionType")
    durations = {k: None if raw.get(k) is None else whole(raw[k], f"{where} {k}")
                 for k in ("min_duration", "max_duration")}
    return Restrictions(
        start_time=_time_of_day(raw.get("start_time"), f"{where} start_time"),
        end_time=_time_of_day(raw.get("end_time"), f"{where} end_time"),
        start_date=_date(raw.get("start_date"), f"{where} start_date"),
        end_date=_date(raw.get("end_date"), f"{where} end_date"),
        days=day_set,
        min_kwh=num("min_kwh"), max_kwh=num("max_kwh"),
        min_power=num("min_power"), max_power=num("max_power"),
        min_current=num("min_current"), max_current=num("max_current"),
        min_duration=durations["min_duration"], max_duration=durations["max_duration"],
        reservation=reservation)


def _time_of_day(value: Any, what: str) -> int | None:
    """Minutes after midnight."""
    if value is None:
        return None
    match = _TIME_OF_DAY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PricingError(f"{what}: {value!r} is not a time of day (HH:MM, 24h)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _date(value: Any, what: str) -> date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise PricingError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _moment(value: Any, what: str) -> int | None:
    if value is None:
        return None
    return instant(value, f"tariff {what}")


def _limit(raw: Any, what: str) -> Limit | None:
    """A 2.3.0 PriceLimit: the tariffs mapper turns a 2.2.1 Price limit into one
    before any tariff reaches the engine (stored, pulled, imported or in a CDR)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PricingError(f"{what} is not an object")
    before, after = raw.get("before_taxes"), raw.get("after_taxes")
    if before is None:
        raise PricingError(f"{what} has no before_taxes")
    return Limit(number(before, f"{what} before_taxes"),
                 None if after is None else number(after, f"{what} after_taxes"))

