"""``ocpi tariffs price``: what a planned session costs under one of our tariffs."""

import argparse
import asyncio
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from .common import fail, known_errors, open_db, show


async def _tariff_and_zone(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    from sqlalchemy import select

    from ..core import jsonutil
    from ..core.enums import RoleEnum
    from ..modules.locations.declaration import LOCATIONS
    from ..modules.tariffs.declaration import TARIFFS
    from ..store.keys import id_key

    db = open_db(args)
    try:
        async with db.begin() as tx:
            t = TARIFFS.table
            query = select(t.c.data).where(t.c.id == id_key(args.tariff_id))
            rows = (await tx.execute(query.order_by(t.c.role))).all()  # CPO (ours) first
            if not rows:
                raise ValueError(f"no tariff {args.tariff_id!r} is stored")
            tariff = jsonutil.loads(rows[0][0])
            if args.time_zone:
                return tariff, args.time_zone
            loc = LOCATIONS.table
            query = select(loc.c.data).where(loc.c.role == str(RoleEnum.cpo))
            query = query.where(loc.c.id == id_key(args.location)) if args.location else \
                query.where(loc.c.data.contains(f'"{tariff["id"]}"', autoescape=True)).limit(50)
            for (text,) in (await tx.execute(query)).all():
                location = jsonutil.loads(text)
                if args.location or any(
                        str(tariff["id"]) in [str(i) for i in c.get("tariff_ids") or ()]
                        for e in location.get("evses") or () for c in e.get("connectors") or ()):
                    return tariff, location.get("time_zone")
            return tariff, None
    finally:
        await db.dispose()


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

    try:
        kwh = _decimal(args.kwh, "kwh")
        minutes = _decimal(args.minutes, "minutes")
        parking = _decimal(args.parking_minutes, "parking-minutes") or Decimal(0)
        power = _decimal(args.max_power, "max-power")
        tariff, zone = asyncio.run(_tariff_and_zone(args))
        cost = price_plan(tariff, start=args.start, kwh=kwh or Decimal(0),
                          minutes=minutes or Decimal(0), parking_minutes=parking,
                          max_power_kw=power, time_zone=zone)
    except PricingError as exc:
        return fail(f"cannot price: {exc}")
    except known_errors() as exc:
        return fail(str(exc))
    fields = cost.cdr_fields()
    total = fields.get("total_cost") or {}
    taxes = sum((Decimal(str(t["amount"])) for t in total.get("taxes") or ()), Decimal(0))
    text = (f"{total.get('before_taxes')} {tariff['currency']} before taxes"
            + (f", {Decimal(str(total['before_taxes'])) + taxes} with taxes" if taxes else "")
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
