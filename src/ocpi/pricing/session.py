"""The engine's entry points: a session's ChargingPeriods, or a plan of one."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, DecimalException, localcontext
from typing import Any

from .cost import Cost, CostLine
from .decimals import CONTEXT, MICROS_PER_HOUR, MICROS_PER_SECOND, ZERO, Quantity, hours, number
from .engine import Run, apply_step_size, run
from .errors import PricingError
from .periods import Span, read_periods
from .tariff import RESERVATION, RESERVATION_EXPIRES, Component, Tariff, read_tariff, read_version
from .taxes import NOTHING, Amount, bounded, charge, total
from .timebase import LocalClock, instant, to_datetime, zone

# Sessions (and reservations) longer than this are refused: real ones are far
# shorter, and the bound keeps the day-by-day walk over local time windows small.
MAX_DAYS = 31
_MAX_SPAN = MAX_DAYS * 24 * 3600 * MICROS_PER_SECOND


def price_session(tariff: dict[str, Any], periods: list[dict[str, Any]], *,
                  end: str | datetime, time_zone: str | None, version: str = "2.3.0") -> Cost:
    """What the session of ``periods`` (OCPI ChargingPeriods, the last lasting
    until ``end``) costs under ``tariff`` (the node's canonical Tariff), by the
    rules of OCPI ``version``.

    Reservation time comes from periods with a RESERVATION_TIME dimension ahead
    of the charging ones, as a 2.2+ CDR carries it; with no charging period
    after them the reservation expired unused. ``time_zone`` is the Location's
    IANA zone, needed only when the tariff has local-time restrictions.
    Raises PricingError saying why the tariff cannot price the session."""
    with localcontext(CONTEXT):
        try:
            return _price(tariff, periods, end, time_zone, version)
        except PricingError:
            raise
        except DecimalException as exc:
            raise PricingError(f"a number is out of range ({type(exc).__name__})") from None
        except (ArithmeticError, ValueError) as exc:  # a date at the calendar's edge...
            raise PricingError(f"cannot be priced: {exc}") from None


def price_plan(tariff: dict[str, Any], *, start: str | datetime, kwh: Decimal,
               minutes: Decimal, parking_minutes: Decimal = ZERO,
               max_power_kw: Decimal | None = None, time_zone: str | None) -> Cost:
    """What a planned session would cost: ``kwh`` charged evenly over ``minutes``
    from ``start``, then ``parking_minutes`` without charging, priced as the
    session of those two periods by 2.3.0 rules (plans are priced on our own
    tariffs, which are canonical 2.3.0). ``max_power_kw`` is the charging's
    highest power (for power restrictions; without it the average decides). A
    plan carries no current: an element restricting current that must be
    evaluated makes it a PricingError, as a session without current does."""
    begin = instant(start, "start")
    energy = number(kwh, "kwh")
    charging = _micros(minutes, "minutes")
    parking = _micros(parking_minutes, "parking_minutes")
    # TIME and PARKING_TIME only tell charging from parking: time comes from the instants
    charged: list[dict[str, Any]] = [{"type": "ENERGY", "volume": energy},
                                     {"type": "TIME", "volume": hours(charging)}]
    if max_power_kw is not None:
        charged.append({"type": "MAX_POWER", "volume": number(max_power_kw, "max_power_kw")})
    try:  # minutes may run past the calendar's end
        periods = [{"start_date_time": to_datetime(begin), "dimensions": charged}]
        if parking:
            periods.append({"start_date_time": to_datetime(begin + charging), "dimensions": [
                {"type": "PARKING_TIME", "volume": hours(parking)}]})
        end = to_datetime(begin + charging + parking)
    except OverflowError as exc:
        raise PricingError(f"cannot be priced: {exc}") from None
    return price_session(tariff, periods, end=end, time_zone=time_zone)


def _micros(minutes: object, what: str) -> int:
    """``minutes`` as whole µs, computed in the engine's context (the caller's may differ)."""
    value = number(minutes, what)
    if value < 0:
        raise PricingError(f"{what} is negative")
    return int(CONTEXT.multiply(value, 60 * MICROS_PER_SECOND).to_integral_value(context=CONTEXT))


def _price(raw_tariff: dict[str, Any], raw_periods: list[dict[str, Any]], raw_end: object,
           time_zone: str | None, raw_version: str) -> Cost:
    version = read_version(raw_version)
    tariff = read_tariff(raw_tariff, version)
    reserved, spans = _timelines(raw_periods, instant(raw_end, "end"), tariff.id)
    if reserved and version == "2.1.1":
        raise PricingError("OCPI 2.1.1 has no reservations; price them under 2.2.1 or 2.3.0")
    _check_in_force(tariff, (reserved or spans)[0].start)
    clock = LocalClock(zone(time_zone)) if tariff.needs_local_time else None

    session = Run()
    if spans:
        plain = [e for e in tariff.elements if e.restrictions.reservation is None]
        session = run(spans, plain, clock, spans[0].start)
        apply_step_size(session, version)
    booked = Run()
    if reserved:
        # with no charging after it the reservation expired unused; then RESERVATION_EXPIRES
        # elements price it first, whatever their place in the list (note under
        # ReservationRestrictionType)
        kinds = (RESERVATION,) if spans else (RESERVATION_EXPIRES, RESERVATION)
        chosen = [e for kind in kinds for e in tariff.elements
                  if e.restrictions.reservation == kind]
        booked = run(reserved, chosen, clock, reserved[0].start)
        apply_step_size(booked, version)
    return _cost(tariff, version, session, booked, spans, reserved)


def _timelines(raw_periods: Any, end: int, tariff_id: str) -> tuple[list[Span], list[Span]]:
    """(reservation spans, charging spans), each within the engine's bound."""
    reserved, spans = read_periods(raw_periods, end, tariff_id)
    if not spans and not reserved:
        raise PricingError("the session has no charging periods")
    for timeline, what in ((spans, "session"), (reserved, "reservation")):
        if timeline and timeline[-1].end - timeline[0].start > _MAX_SPAN:
            raise PricingError(f"the {what} lasts more than {MAX_DAYS} days, the most this "
                               "engine prices")
    return [_as_reserved(s) for s in reserved], spans


def _as_reserved(span: Span) -> Span:
    """Reservation time is priced by TIME components (TariffDimensionType TIME),
    so a reservation span is all "charging" time, with no power or current."""
    return Span(span.index, span.start, span.end, ZERO, span.end - span.start,
                (None, ZERO, None), (None, ZERO, None))


def _check_in_force(tariff: Tariff, at: int) -> None:
    """A session is priced by the tariff in force when it starts (the note on
    start_date_time/end_date_time: the driver accepts the tariff valid then)."""
    if tariff.valid_from is not None and at < tariff.valid_from:
        raise PricingError(f"the tariff is in force from {to_datetime(tariff.valid_from)}, "
                           f"after the session starts ({to_datetime(at)})")
    if tariff.valid_until is not None and at >= tariff.valid_until:
        raise PricingError(f"the tariff ended at {to_datetime(tariff.valid_until)}, before "
                           f"the session starts ({to_datetime(at)})")


def _cost(tariff: Tariff, version: str, session: Run, booked: Run, spans: list[Span],
          reserved: list[Span]) -> Cost:
    reserved_time = reserved[-1].end - reserved[0].start if reserved else 0

    def amount(component: Component, quantity: Quantity) -> Amount:
        """Price times quantity (kWh, or µs for time), taxed as the tariff says."""
        if component.dimension == "FLAT":
            base = component.price
        elif component.dimension == "ENERGY":
            base = component.price * Decimal(quantity)
        else:
            base = component.price * Decimal(quantity) / MICROS_PER_HOUR
        return charge(base, component.vat, tariff.tax_included, version)

    def sums(result: Run, dimension: str) -> Amount:
        return total(amount(c, q) for c, q in result.quantities.items()
                     if c.dimension == dimension)

    def fee(result: Run) -> Amount:
        return NOTHING if result.flat is None else amount(result.flat[0], 1)

    fixed = fee(session)
    energy, time, parking = (sums(session, d) for d in ("ENERGY", "TIME", "PARKING_TIME"))
    booking = total([sums(booked, "TIME"), fee(booked)])
    overall = total([fixed, energy, time, parking, booking])
    if overall.before_taxes is None:
        raise PricingError("the tariff includes taxes (tax_included YES) but a price component "
                           "used has no vat: the cost before taxes cannot be derived, and a "
                           "CDR needs it")
    if version == "2.1.1":  # 2.1.1 Tariffs have no min_price/max_price
        raised = lowered = False
    else:
        overall, raised, lowered = bounded(overall, tariff.min_price, tariff.max_price)
    lines = _lines(booked, "reservation", amount) + _lines(session, "session", amount)
    return Cost(
        currency=tariff.currency, tariff_id=tariff.id, version=version, total=overall,
        fixed=fixed, energy=energy, time=time, parking=parking, reservation=booking,
        total_energy=session.energy,
        total_time=hours(spans[-1].end - spans[0].start) if spans else ZERO,
        total_charging_time=hours(session.charging), total_parking_time=hours(session.parking),
        total_reservation_time=hours(reserved_time),
        billed_energy=Decimal(session.billed("ENERGY")),
        billed_time=hours(session.billed("TIME")),
        billed_parking_time=hours(session.billed("PARKING_TIME")),
        billed_reservation_time=hours(booked.billed("TIME")),
        min_price_applied=raised, max_price_applied=lowered, lines=lines)


def _lines(result: Run, phase: str, amount: Callable[[Component, Quantity], Amount]
           ) -> tuple[CostLine, ...]:
    by_element = {(c.element, c.dimension): c for c in result.quantities}
    lines = []
    if result.flat is not None:
        flat, period, at = result.flat
        lines.append(CostLine(phase, "FLAT", flat.element, period, _moment(at), _moment(at),
                              Decimal(1), flat.price, flat.vat, amount(flat, 1)))
    for (period, dimension, element, step), tally in result.lines.items():
        component = by_element[(element, dimension)]
        quantity = Decimal(tally.quantity) if dimension == "ENERGY" else hours(tally.quantity)
        lines.append(CostLine(phase, dimension, element, period, _moment(tally.start),
                              _moment(tally.end), quantity, component.price, component.vat,
                              amount(component, tally.quantity), step))
    return tuple(lines)


def _moment(micros: Quantity) -> datetime:
    """A segment boundary as a datetime (a kWh crossing may fall within a µs)."""
    return to_datetime(micros if isinstance(micros, int) else int(micros))

