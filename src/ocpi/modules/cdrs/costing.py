"""What a session costs under a tariff, for the CPO building a CDR and for the
eMSP checking one: which of a connector's tariffs applies, the charging periods
to price (one made from the totals when a source sent none), and the engine's
answer. A session that cannot be priced raises ``Unpriceable`` with the reason
an operator can act on; nothing here guesses a cost."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...core.datetime import parse_datetime
from ...pricing import Cost, PricingError, price_session

log = logging.getLogger("ocpi.cdrs")


class Unpriceable(ValueError):
    """The session cannot be priced; ``str()`` says why, for the operator."""


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_datetime(str(value))


def _in_force(tariff: dict[str, Any], at: datetime) -> bool:
    start, end = tariff.get("start_date_time"), tariff.get("end_date_time")
    return (start is None or _when(start) <= at) and (end is None or at < _when(end))


def _wanted_type(session: dict[str, Any]) -> str | None:
    """The TariffType a session asks for: its charging preferences' profile, or
    AD_HOC_PAYMENT for an ad-hoc user; None: the regular tariff."""
    token = session.get("cdr_token") or {}
    if token.get("type") == "AD_HOC_USER":
        return "AD_HOC_PAYMENT"
    prefs = session.get("_charging_preferences") or {}
    profile = prefs.get("profile_type")
    return f"PROFILE_{profile}" if profile else None


def choose_tariff(tariffs: list[dict[str, Any]], session: dict[str, Any]
                  ) -> dict[str, Any] | None:
    """The tariff of a connector's ``tariff_ids`` that applies to ``session``: in force
    at its start, of the type its preferences ask for, else a regular one (type
    REGULAR or none: "valid for all sessions"); None when only other types are in force."""
    start = _when(session["start_date_time"])
    live = [t for t in tariffs if _in_force(t, start)]
    wanted = _wanted_type(session)
    for accept in ((wanted,) if wanted else (), ("REGULAR", None)):
        found = [t for t in live if t.get("type") in accept]
        if found:
            return found[0]
    return None  # only tariffs of another type (PROFILE_FAST for a regular session)


def tariff_ids(session: dict[str, Any], connector: dict[str, Any] | None) -> list[str]:
    """The tariffs a session names in its periods (2.2+ ``tariff_id``), else those of
    its connector, in order."""
    named = [str(p["tariff_id"]) for p in session.get("charging_periods") or ()
             if isinstance(p, dict) and p.get("tariff_id")]
    if named:
        return list(dict.fromkeys(named))
    return [str(t) for t in (connector or {}).get("tariff_ids") or ()]


_HOURS = Decimal("0.0001")  # a made-up period's TIME volume, as OCPI numbers are written


def periods(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The session's charging periods; one from its start, ``kwh`` and duration when a
    source sent none (charging the whole time, as the totals say). A session that
    began before its first period was parked (connected, not charging) until then."""
    given = [p for p in session.get("charging_periods") or () if isinstance(p, dict)]
    if given:
        first = given[0].get("start_date_time")
        if first is not None and _when(first) > _when(session["start_date_time"]):
            # the session began before its first period: connected, not charging yet
            return [{"start_date_time": session["start_date_time"], "dimensions": []},
                    *given]
        return given
    start, end = _when(session["start_date_time"]), _when(session["end_date_time"])
    hours = (Decimal(int((end - start).total_seconds())) / Decimal(3600)).quantize(_HOURS)
    return [{"start_date_time": session["start_date_time"], "dimensions": [
        {"type": "ENERGY", "volume": Decimal(str(session.get("kwh") or 0))},
        {"type": "TIME", "volume": hours}]}]


def cost(session: dict[str, Any], tariff: dict[str, Any], time_zone: str | None,
         version: str = "2.3.0", spans: list[dict[str, Any]] | None = None) -> Cost:
    """The engine's cost of ``session`` (ended) under ``tariff``, by ``version``'s rules
    (ours are canonical, 2.3.0; an eMSP checks a CDR by the version it came in).
    ``spans``: its ``periods`` when the caller has them already."""
    if not session.get("end_date_time"):
        raise Unpriceable(f"session {session.get('id')!r} has no end_date_time")
    currency = session.get("currency")
    if currency and str(currency).upper() != str(tariff.get("currency", "")).upper():
        raise Unpriceable(f"currency: the session is in {currency}, tariff "
                          f"{tariff.get('id')!r} in {tariff.get('currency')}")
    try:
        return price_session(tariff, periods(session) if spans is None else spans,
                             end=session["end_date_time"],
                             time_zone=time_zone, version=version)
    except PricingError as exc:
        raise Unpriceable(f"tariff {tariff.get('id')!r}: {exc}") from None
    except Exception as exc:  # the engine is pure: anything else is our bug, never a guess
        log.exception("pricing session %r under tariff %r failed", session.get("id"),
                      tariff.get("id"))
        raise Unpriceable(f"tariff {tariff.get('id')!r}: internal error in the pricing "
                          f"engine ({type(exc).__name__}); see the log") from None
