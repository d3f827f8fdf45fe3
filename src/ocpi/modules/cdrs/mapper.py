"""CDR wire <-> canonical (the 2.3.0 CDR).

2.1.1 -> canonical:
- ``stop_date_time`` is ``end_date_time``; ``auth_id`` becomes a ``cdr_token``
  (as for Sessions: uid and contract_id = auth_id, type OTHER, owner from the
  eMAID prefix); Gireve's ``authorization_id`` is ``authorization_reference``;
  the number ``total_cost`` (excl. VAT) is a Price ``{before_taxes}``.
- The embedded ``location`` gives ``cdr_location`` (its first EVSE and
  Connector; ``#NA``, the specification's "no data available", for those it
  names none of) and is itself kept, as sent, under ``location``: a 2.1.1 field
  that newer versions' output leaves out, so a 2.1.1 reader gets back exactly
  what was sent (Sessions keep theirs the same way). It is no private key on
  purpose: a CDR replaced in a newer version must not keep the old one.
- Tariffs go through the Tariffs mapper, owned by the CDR's owner.

canonical -> 2.1.1 (strict): ``location`` is the kept one; else ``context``, the
stored (canonical) Location, cut to the CDR's EVSE and Connector with the CDR's
own record (``cdr_location``) laid over it; else one built from ``cdr_location``
with the defaults 2.1.1 requires (type ``UNKNOWN``, EVSE status ``UNKNOWN``,
voltage and amperage 0 for "not known", the CDR's ``last_updated``).
``total_cost`` goes as ``before_taxes``; what only 2.2+ has is left out.

2.2.1 <-> canonical: every cost field's Price ``{excl_vat, incl_vat}`` maps
exactly (``Decimal``) to ``{before_taxes, taxes: [VAT]}`` (the Sessions mapper's
arithmetic). Strict output cuts DateTimes to ``string(25)``.
"""

from typing import Any

from ...core.datetime import emitted
from ...core.mapping import drop, version_filter
from ...core.objects import without_internal
from ...core.types import ci
from ..locations import mapper as location_mapper
from ..sessions.mapper import (
    dimensions_in,
    embedded_as_sent,
    price_from_221,
    price_to_221,
    token_from_auth_id,
)
from ..sessions.schemas import ChargingPeriod, ChargingPeriod211
from ..tariffs import mapper as tariff_mapper
from ..versions.enums import is_v2_1
from .schemas import COST_FIELDS, EXTENSION_FIELDS_211, SCHEMAS

_OTHER = version_filter({
    v: (set(m.model_fields) | (set(EXTENSION_FIELDS_211) if v == "2.1.1" else set()))
    for v, m in SCHEMAS.items()
})
_OTHER_PERIOD = version_filter({"2.1.1": ChargingPeriod211.model_fields.keys(),
                                "2.2.1": ChargingPeriod.model_fields.keys(),
                                "2.3.0": ChargingPeriod.model_fields.keys()})
_TIMES = ("start_date_time", "end_date_time", "stop_date_time", "last_updated")
NOT_AVAILABLE = location_mapper.NOT_AVAILABLE
# CdrLocation fields naming the EVSE and Connector: "#NA" allowed (2.2.1/2.3.0 table)
_EVSE_FIELDS = ("evse_uid", "evse_id", "connector_id", "connector_standard",
                "connector_format", "connector_power_type")
# CdrLocation field -> 2.1.1 Location field (the same name for the rest)
_PLACE_FIELDS = ("id", "name", "address", "city", "postal_code", "country", "coordinates")
_CONNECTOR_FIELDS = (("connector_standard", "standard"), ("connector_format", "format"),
                     ("connector_power_type", "power_type"))
# 2.1.1 requires them; a CDR does not say them: the Location's "not known"
UNKNOWN_TYPE = "UNKNOWN"
UNKNOWN_STATUS = "UNKNOWN"
NOT_KNOWN_NUMBER = 0


# --- 2.1.1 -> canonical --------------------------------------------------------

def _first(items: Any) -> dict[str, Any]:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return {}


def cdr_location(location: dict[str, Any], evse: dict[str, Any], connector: dict[str, Any]
                 ) -> dict[str, Any]:
    """The CdrLocation of a charge: the Location's place (2.2+ ``state`` too), the EVSE
    and the Connector used; what they do not say is left out."""
    out = {key: location.get(key) for key in (*_PLACE_FIELDS, "state")}
    out["evse_uid"] = evse.get("uid")
    out["evse_id"] = evse.get("evse_id")
    out["connector_id"] = connector.get("id")
    for ours, theirs in _CONNECTOR_FIELDS:
        out[ours] = connector.get(theirs)
    return {k: v for k, v in out.items() if v is not None}


def cdr_location_of(location: dict[str, Any]) -> dict[str, Any]:
    """The CdrLocation a 2.1.1 Location says: its first EVSE and Connector."""
    evse = _first(location.get("evses"))
    return _with_na(cdr_location(location, evse, _first(evse.get("connectors"))))


def _with_na(where: dict[str, Any]) -> dict[str, Any]:
    """``#NA`` for the EVSE and Connector fields a CDR cannot name."""
    missing = [k for k in _EVSE_FIELDS if where.get(k) is None]
    return {**where, **dict.fromkeys(missing, NOT_AVAILABLE)} if missing else where


def to_canonical(obj: dict[str, Any], version: str, country_code: str | None = None,
                 party_id: str | None = None) -> dict[str, Any]:
    out = dict(obj)
    if is_v2_1(version):
        if country_code is not None:  # 2.1.1 has no owner field: one sent is no owner
            out["country_code"], out["party_id"] = country_code, party_id
        owner = (out.get("country_code") or "", out.get("party_id") or "")
        if "stop_date_time" in out:
            out["end_date_time"] = out.pop("stop_date_time")
        auth_id = out.pop("auth_id", None)
        token = out.get("cdr_token")
        if isinstance(auth_id, str) and (not isinstance(token, dict)
                                         or token.get("contract_id") != auth_id):
            out["cdr_token"] = token_from_auth_id(auth_id, owner)
        if "authorization_id" in out:
            out["authorization_reference"] = out.pop("authorization_id")
        location = out.get("location")
        if isinstance(location, dict):
            before = out.get("cdr_location")
            out["cdr_location"] = {**(before if isinstance(before, dict) else {}),
                                   **cdr_location_of(location)}
        cost = out.get("total_cost")
        if cost is not None and not isinstance(cost, dict):
            out["total_cost"] = {"before_taxes": cost}
        if isinstance(out.get("tariffs"), list):
            out["tariffs"] = [tariff_mapper.to_canonical(
                t, "2.1.1", out.get("country_code"), out.get("party_id"))
                if isinstance(t, dict) else t for t in out["tariffs"]]
    elif version == "2.2.1":
        for key in COST_FIELDS:
            if key in out:
                out[key] = price_from_221(out[key])
        if isinstance(out.get("tariffs"), list):
            out["tariffs"] = [tariff_mapper.to_canonical(t, "2.2.1") if isinstance(t, dict)
                              else t for t in out["tariffs"]]
    return out


# --- canonical -> wire -----------------------------------------------------------

def to_wire(obj: dict[str, Any], version: str, *, strict: bool = True,
            context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Canonical -> wire. ``context``: the stored Location (canonical) a 2.1.1
    rendering embeds when the CDR keeps no 2.1.1 ``location`` (``needs_location``)."""
    out = {k: v for k, v in obj.items() if not k.startswith("_")} if strict else dict(obj)
    if is_v2_1(version):
        if "end_date_time" in out:
            out["stop_date_time"] = out.pop("end_date_time") if strict else out["end_date_time"]
        token = out.get("cdr_token")
        if "auth_id" not in out and isinstance(token, dict):
            out["auth_id"] = token.get("contract_id") or token.get("uid")
        if isinstance(out.get("location"), dict):
            if strict:
                out["location"] = embedded_as_sent(out["location"])
        elif isinstance(out.get("cdr_location"), dict):
            out["location"] = embedded_location(out, context)
        if out.get("authorization_reference") is not None:
            out["authorization_id"] = out["authorization_reference"]
        cost = out.get("total_cost")
        if strict and isinstance(cost, dict):  # non-strict keeps the taxes (a PATCH merge)
            out["total_cost"] = cost.get("before_taxes")
        key = "2.1.1"
    else:
        if version == "2.2.1":
            for name in COST_FIELDS:
                if name in out:
                    out[name] = price_to_221(out[name])
        key = version if version in SCHEMAS else "2.3.0"
    if isinstance(out.get("tariffs"), list):
        out["tariffs"] = [tariff_mapper.to_wire(t, key, strict=strict, embedded=True)
                          if isinstance(t, dict) else t for t in out["tariffs"]]
    if not strict:
        return out
    _fill_required(out, key)
    return drop(out, _OTHER[key])


def _fill_required(out: dict[str, Any], version: str) -> None:
    """DateTimes within string(25); periods as the version has them; 2.2+'s
    ``#NA`` for EVSE and Connector fields a 2.1.1 Location did not name."""
    for key in _TIMES:
        if key in out:
            out[key] = emitted(out[key])
    periods = out.get("charging_periods")
    if isinstance(periods, list):
        out["charging_periods"] = [
            drop({**p, "start_date_time": emitted(p.get("start_date_time")),
                  **({"dimensions": dimensions_in(p["dimensions"], version)}
                     if "dimensions" in p else {})},
                 _OTHER_PERIOD[version]) if isinstance(p, dict) else p for p in periods]
    if version != "2.1.1" and isinstance(out.get("cdr_location"), dict):
        out["cdr_location"] = _with_na(out["cdr_location"])


def needs_location(data: dict[str, Any], version: str) -> bool:
    """A 2.1.1 rendering has no 2.1.1 ``location`` of its own (the CDR came newer)
    and so needs the stored Location as ``context``."""
    return is_v2_1(version) and not isinstance(data.get("location"), dict)


def _known(value: Any) -> bool:
    return value is not None and value != NOT_AVAILABLE


def embedded_location(cdr: dict[str, Any], location: dict[str, Any] | None
                      ) -> dict[str, Any]:
    """The 2.1.1 ``location`` of a CDR that came in 2.2+: the stored Location
    (canonical) cut to the CDR's EVSE and Connector, with what the CDR records
    (``cdr_location``: where and with which connector it charged) laid over it;
    without a stored Location, one built from ``cdr_location`` alone."""
    where = cdr.get("cdr_location") or {}
    stamp = cdr.get("last_updated")
    evse_uid = where.get("evse_uid")
    place = {k: where[k] for k in _PLACE_FIELDS if where.get(k) is not None}
    if location is None:
        base: dict[str, Any] = {"type": UNKNOWN_TYPE, **place, "last_updated": stamp}
        stored_evses: list[Any] = []
    else:
        base = {**without_internal(location), **place}
        stored_evses = location.get("evses") or []
    evses = []
    if _known(evse_uid):
        stored = next((e for e in stored_evses if isinstance(e, dict)
                       and ci(str(e.get("uid"))) == ci(str(evse_uid))), None)
        evses.append(_evse(where, stored, stamp))
    base["evses"] = evses
    return location_mapper.to_wire(base, "2.1.1", "location")


def _evse(where: dict[str, Any], stored: dict[str, Any] | None, stamp: Any) -> dict[str, Any]:
    """The CDR's EVSE (canonical) with its one Connector: the stored ones where
    the Location holds them, else built; the CDR's own record laid over them."""
    connector_id = where.get("connector_id")
    evse = dict(stored) if stored is not None else {
        "uid": where["evse_uid"], "status": UNKNOWN_STATUS, "last_updated": stamp}
    if _known(where.get("evse_id")):
        evse["evse_id"] = where["evse_id"]
    connector = next((c for c in evse.get("connectors") or () if isinstance(c, dict)
                      and _known(connector_id) and ci(str(c.get("id"))) == ci(str(connector_id))),
                     None)
    connector = dict(connector) if connector is not None else {
        "id": connector_id if _known(connector_id) else NOT_AVAILABLE,
        "max_voltage": NOT_KNOWN_NUMBER, "max_amperage": NOT_KNOWN_NUMBER,
        "last_updated": evse.get("last_updated", stamp)}
    for ours, theirs in _CONNECTOR_FIELDS:
        if _known(where.get(ours)):
            connector[theirs] = where[ours]
    evse["connectors"] = [connector]
    return evse
