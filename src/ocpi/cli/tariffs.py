"""``ocpi tariffs price``: what a planned session costs under one of our tariffs."""

import argparse
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from .common import fail, known_errors, show, with_db


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"--{name}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"--{name}: must be a finite number, not negative")
    return number


def cmd_tariffs_price(args: argparse.Namespace) -> int:
    from ..pricing import PricingError, price_plan
    from ..services.tariffs import tariff_and_zone

    try:
        kwh = _decimal(args.kwh, "kwh")
        minutes = _decimal(args.minutes, "minutes")
        parking = _decimal(args.parking_minutes, "parking-minutes") or Decimal(0)
        power = _decimal(args.max_power, "max-power")
        tariff, zone = with_db(args, lambda db: tariff_and_zone(
            db, args.tariff_id, time_zone=args.time_zone, location_id=args.location))
        cost = price_plan(tariff, start=args.start, kwh=kwh or Decimal(0),
                          minutes=minutes or Decimal(0), parking_minutes=parking,
                          max_power_kw=power, time_zone=zone)
    except PricingError as exc:
        return fail(f"cannot price: {exc}")
    except known_errors() as exc:
        return fail(str(exc))
    before = cost.cdr_fields()["total_cost"]["before_taxes"]
    after = cost.total_incl
    text = (f"{before} {tariff['currency']} before taxes"
            + (f", {after.quantize(Decimal('0.0001'))} with taxes"
               if after is not None and after != cost.total_excl else "")
            + f" (tariff {tariff['id']}, time zone {zone or 'unknown'})")
    show(args, {"tariff": tariff["id"], "currency": tariff["currency"], "time_zone": zone,
                **cost.as_dict()}, text)
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    tar = sub.add_parser("tariffs", help="tariffs: what a session costs")
    tsub = tar.add_subparsers(dest="tariffs_command", required=True)
    price = tsub.add_parser("price", help="price a planned session under a stored tariff")
    common(price)
    price.add_argument("tariff_id")
    price.add_argument("--start", required=True, help="ISO start, e.g. 2026-12-07T18:30:00Z")
    price.add_argument("--kwh", required=True, help="energy charged, kWh")
    price.add_argument("--minutes", required=True, help="charging time, minutes")
    price.add_argument("--parking-minutes", help="time parked after charging, minutes")
    price.add_argument("--max-power", help="the session's power, kW")
    price.add_argument("--time-zone", help="IANA zone of the Location (default: that of "
                       "the Location whose connector lists the tariff)")
    price.add_argument("--location", help="take the time zone of this Location")
    price.set_defaults(func=cmd_tariffs_price)
