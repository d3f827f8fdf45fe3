"""Session wire <-> canonical (2.3.0 shape).

2.1.1's embedded ``location`` gives ``location_id``/``evse_uid``/``connector_id``;
``auth_id`` becomes a ``cdr_token``; Gireve's ``authorization_id`` becomes
``authorization_reference``; a plain-number ``total_cost`` becomes a Price.
2.2.1's ``excl_vat``/``incl_vat`` map exactly to ``before_taxes`` + one VAT line.
Strict output fills what the target version requires and the canonical session
may lack (the mapper table in docs/architecture.md) and cuts DateTimes to
``string(25)``.
"""

import re
from decimal import Decimal
from typing import Any

from ...core.datetime import emitted
from ...core.mapping import drop, version_filter
from ..locations import mapper as location_mapper
from ..versions.enums import is_v2_1
from .schemas import EXTENSION_FIELDS_211, SCHEMAS

_OTHER = version_filter({
    v: (set(m.model_fields) | (set(EXTENSION_FIELDS_211) if v == "2.1.1" else set()))
    for v, m in SCHEMAS.items()
})
_EMAID = re.compile(r"^([A-Za-z]{2})[-*]?([A-Za-z0-9]{3})")
_TIMES = ("start_date_time", "end_date_time", "start_datetime", "end_datetime",
          "last_updated")
# 2.1.1 has no RESERVATION: a reservation session has not started, as PENDING says
_STATUS_211 = {"RESERVATION": "PENDING"}


def token_from_auth_id(auth_id: str, fallback: tuple[str, str]) -> dict[str, Any]:
    m = _EMAID.match(auth_id)
    cc, pid = (m.group(1).upper(), m.group(2).upper()) if m else fallback
    return {"country_code": cc, "party_id": pid, "uid": auth_id, "type": "OTHER",
            "contract_id": auth_id}


def price_from_221(price: Any) -> Any:
    if not isinstance(price, dict) or "excl_vat" not in price:
        return price
    out = {k: v for k, v in price.items() if k not in ("excl_vat", "incl_vat")}
    out["before_taxes"] = price["excl_vat"]
    incl = price.get("incl_vat")
    if incl is not None:
        out["taxes"] = [{"name": "VAT", "amount": Decimal(str(incl)) -
                         Decimal(str(price["excl_vat"]))}]
    return out


def price_to_221(price: Any) -> Any:
    if not isinstance(price, dict) or "before_taxes" not in price:
        return price
    out = {k: v for k, v in price.items() if k not in ("before_taxes", "taxes")}
    out["excl_vat"] = price["before_taxes"]
    taxes = price.get("taxes")
    if taxes:
        out["incl_vat"] = Decimal(str(price["before_taxes"])) + sum(
            (Decimal(str(t.get("amount", 0))) for t in taxes), Decimal(0))
    return out


def to_canonical(obj: dict[str, Any], version: str, country_code: str | None = None,
                 party_id: str | None = None) -> dict[str, Any]:
    out = dict(obj)
    if country_code is not None:
        out.setdefault("country_code", country_code)
        out.setdefault("party_id", party_id)
    if is_v2_1(version):
        for old, new in (("start_datetime", "start_date_time"), ("end_datetime", "end_date_time")):
            if old in out:
                out[new] = out.pop(old)
        loc = out.get("location")
        if isinstance(loc, dict):
            out["location_id"] = loc.get("id")
            evses = loc.get("evses") or []
            if evses and isinstance(evses[0], dict):
                out["evse_uid"] = evses[0].get("uid")
                conns = evses[0].get("connectors") or []
                if conns and isinstance(conns[0], dict):
                    out["connector_id"] = conns[0].get("id")
        auth_id = out.get("auth_id")
        token = out.get("cdr_token")
        if isinstance(auth_id, str) and (not isinstance(token, dict)
                                         or token.get("contract_id") != auth_id):
            out["cdr_token"] = token_from_auth_id(
                auth_id, (out.get("country_code") or "", out.get("party_id") or ""))
        if "authorization_id" in out:
            out["authorization_reference"] = out.pop("authorization_id")
        cost = out.get("total_cost")
        if cost is not None and not isinstance(cost, dict):
            out["total_cost"] = {"before_taxes": cost}
    elif version == "2.2.1" and "total_cost" in out:
        out["total_cost"] = price_from_221(out["total_cost"])
    return out


def to_wire(obj: dict[str, Any], version: str, strict: bool = True,
            location: dict[str, Any] | None = None) -> dict[str, Any]:
    """Canonical -> wire. For 2.1.1, ``location`` is the 2.1.1 Location to embed
    when the session does not carry one already."""
    out = {k: v for k, v in obj.items() if not k.startswith("_")} if strict else dict(obj)
    if is_v2_1(version):
        for new, old in (("start_date_time", "start_datetime"), ("end_date_time", "end_datetime")):
            if new in out:
                out[old] = out.pop(new) if strict else out[new]
        token = out.get("cdr_token")
        if "auth_id" not in out and isinstance(token, dict):
            out["auth_id"] = token.get("contract_id") or token.get("uid")
        if "location" not in out and location is not None:
            out["location"] = location
        elif strict and isinstance(out.get("location"), dict):
            out["location"] = embedded_as_sent(out["location"])
        if out.get("authorization_reference") is not None:
            out["authorization_id"] = out["authorization_reference"]
        cost = out.get("total_cost")
        if isinstance(cost, dict):
            out["total_cost"] = cost.get("before_taxes")
        key = "2.1.1"
    else:
        if version == "2.2.1" and "total_cost" in out:
            out["total_cost"] = price_to_221(out["total_cost"])
        key = version if version in SCHEMAS else "2.3.0"
    if not strict:
        return out
    _fill_required(out, key)
    return drop(out, _OTHER[key])


# the CdrDimensionTypes 2.1.1 has; the others (MAX_POWER, STATE_OF_CHARGE...) came in 2.2
DIMENSIONS_211 = frozenset({"ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME",
                            "TIME"})


def dimensions_in(dimensions: Any, version: str) -> Any:
    """A period's dimensions as ``version`` can carry them: 2.1.1 has fewer types, and
    a period left with none says its energy was zero (it needs one)."""
    if version != "2.1.1" or not isinstance(dimensions, list):
        return dimensions
    kept = [d for d in dimensions if not isinstance(d, dict) or d.get("type") in DIMENSIONS_211]
    return kept or [{"type": "ENERGY", "volume": 0}]


def _fill_required(out: dict[str, Any], version: str) -> None:
    """What partners see: DateTimes within string(25), and the documented defaults
    for fields ``version`` requires that the canonical session may lack."""
    for key in _TIMES:
        if key in out:
            out[key] = emitted(out[key])
    periods = out.get("charging_periods")
    if isinstance(periods, list):
        out["charging_periods"] = [
            {**p, "start_date_time": emitted(p["start_date_time"]),
             **({"dimensions": dimensions_in(p["dimensions"], version)}
                if "dimensions" in p else {})}
            if isinstance(p, dict) and "start_date_time" in p else p for p in periods]
    if version == "2.1.1":
        out["status"] = _STATUS_211.get(out.get("status"), out.get("status"))
        return
    # a 2.1.1 session whose Location named no EVSE or Connector: the spec's
    # "no data available" value, as for a reservation without an EVSE yet
    for key in ("evse_uid", "connector_id"):
        if out.get(key) is None:
            out[key] = location_mapper.NOT_AVAILABLE


def embedded_as_sent(location: dict[str, Any]) -> dict[str, Any]:
    """A 2.1.1 session's own ``location`` through the Location mapper's strict
    2.1.1 output, so its DateTimes are cut like any Location's."""
    return location_mapper.to_wire(location_mapper.to_canonical(location, "2.1.1", "location"),
                                   "2.1.1", "location")


def needs_location(session: dict[str, Any]) -> bool:
    """A 2.1.1 rendering must embed the stored Location (the session came newer)."""
    return "location" not in session and bool(session.get("location_id"))


def embedded_location(session: dict[str, Any], location: dict[str, Any] | None
                      ) -> dict[str, Any]:
    """The 2.1.1 ``location`` a session carries: the stored Location cut down to
    the session's EVSE and Connector (a bare one when the Location is unknown)."""
    if location is None:
        return {"id": session["location_id"], "evses": [{
            "uid": session.get("evse_uid"), "connectors": [{"id": session.get("connector_id")}]}]}
    evses = [dict(e, connectors=[c for c in e.get("connectors", [])
                                 if str(c.get("id")) == str(session.get("connector_id"))]
                  or e.get("connectors", []))
             for e in location.get("evses") or []
             if str(e.get("uid")) == str(session.get("evse_uid"))]
    return location_mapper.to_wire({**location, "evses": evses}, "2.1.1", "location")
