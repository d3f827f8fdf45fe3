"""Location wire <-> canonical (2.3.0 shape) for every version.

Mappers rename what differs and keep everything else, so extensions survive
and a mapping in and out again is lossless. ``strict`` output (what partners
see) leaves out the fields that belong to other versions, fills the documented
defaults where the target version requires a field the canonical object lacks
(see the mapper table in docs/architecture.md), and cuts DateTimes to
``string(25)``.
"""

from typing import Any

from ...core.datetime import emitted
from ...core.mapping import drop, version_filter
from ...core.timezones import at_sea, time_zone_at
from ..versions.enums import is_v2_1
from .schemas import SCHEMAS

_OTHER_VERSION_FIELDS = {
    kind: version_filter({v: s[kind].model_fields.keys() for v, s in SCHEMAS.items()})
    for kind in ("location", "evse", "connector")
}
# The specification's value for a required field that cannot be filled
# (2.2.1/2.3.0 transport_and_format, "No data available").
NOT_AVAILABLE = "#NA"
_TYPE_TO_PARKING = {"ON_STREET": "ON_STREET", "PARKING_GARAGE": "PARKING_GARAGE",
                    "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE", "PARKING_LOT": "PARKING_LOT"}


# --- 2.1.1 -> canonical ------------------------------------------------------

def _connector_in_211(c: dict[str, Any]) -> dict[str, Any]:
    out = dict(c)
    if "voltage" in out:
        out["max_voltage"] = out.pop("voltage")
    if "amperage" in out:
        out["max_amperage"] = out.pop("amperage")
    if "tariff_id" in out:
        tid = out.pop("tariff_id")
        if tid is not None:
            out["tariff_ids"] = [tid]
    return out


def _evse_in_211(e: dict[str, Any]) -> dict[str, Any]:
    out = dict(e)
    if isinstance(out.get("connectors"), list):
        out["connectors"] = [_connector_in_211(c) for c in out["connectors"]]
    return out


def energy_mix_out_211(mix: dict[str, Any]) -> dict[str, Any]:
    """An EnergyMix as 2.1.1 names it (Locations and Tariffs carry one): ``category``
    of an environmental impact is 2.1.1's ``source``."""
    if not isinstance(mix.get("environ_impact"), list):
        return mix
    return {**mix, "environ_impact": [
        {("source" if k == "category" else k): v for k, v in i.items()}
        if isinstance(i, dict) else i for i in mix["environ_impact"]]}


def energy_mix_in_211(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    if isinstance(out.get("environ_impact"), list):
        out["environ_impact"] = [
            {("category" if k == "source" else k): v for k, v in i.items()}
            for i in out["environ_impact"]
        ]
    return out


_IMPLIED = "_twentyfourseven_implied"


def _hours_in_211(h: dict[str, Any]) -> dict[str, Any]:
    out = dict(h)
    if "twentyfourseven" not in out:  # 2.2+ requires it; remember 2.1.1 left it out
        out["twentyfourseven"] = False
        out[_IMPLIED] = True
    return out


_PERIOD_TIMES = ("period_begin", "period_end")


def _periods_out(periods: Any) -> Any:
    """Exceptional hours or a status schedule with their DateTimes cut to string(25)."""
    if not isinstance(periods, list):
        return periods
    return [{k: emitted(v) if k in _PERIOD_TIMES else v for k, v in p.items()}
            if isinstance(p, dict) else p for p in periods]


def _hours_out(h: dict[str, Any], v211: bool, strict: bool) -> dict[str, Any]:
    implied = h.get(_IMPLIED)
    out = {k: v for k, v in h.items() if k != _IMPLIED}
    if v211 and implied and not out.get("twentyfourseven"):
        out.pop("twentyfourseven", None)
    if strict:
        for key in ("exceptional_openings", "exceptional_closings"):
            if key in out:
                out[key] = _periods_out(out[key])
    return out


def _location_in_211(loc: dict[str, Any]) -> dict[str, Any]:
    out = dict(loc)
    if isinstance(out.get("evses"), list):
        out["evses"] = [_evse_in_211(e) for e in out["evses"]]
    if isinstance(out.get("energy_mix"), dict):
        out["energy_mix"] = energy_mix_in_211(out["energy_mix"])
    if isinstance(out.get("opening_times"), dict):
        out["opening_times"] = _hours_in_211(out["opening_times"])
    if "parking_type" not in out and out.get("type") in _TYPE_TO_PARKING:
        out["parking_type"] = _TYPE_TO_PARKING[out["type"]]
    out.setdefault("publish", True)
    return out


# --- canonical -> 2.1.1 ------------------------------------------------------

def _connector_out_211(c: dict[str, Any]) -> dict[str, Any]:
    out = dict(c)
    if "max_voltage" in out:
        out["voltage"] = out.pop("max_voltage")
    if "max_amperage" in out:
        out["amperage"] = out.pop("max_amperage")
    if "tariff_ids" in out:
        ids = out.pop("tariff_ids") or []
        if ids:
            out["tariff_id"] = ids[0]
    return out


def _evse_out_211(e: dict[str, Any], strict: bool) -> dict[str, Any]:
    out = dict(e)
    if isinstance(out.get("connectors"), list):
        out["connectors"] = [to_wire(c, "2.1.1", "connector", strict) for c in out["connectors"]]
    return out


def _location_out_211(loc: dict[str, Any], strict: bool) -> dict[str, Any]:
    out = dict(loc)
    if isinstance(out.get("evses"), list):
        out["evses"] = [to_wire(e, "2.1.1", "evse", strict) for e in out["evses"]]
    if isinstance(out.get("energy_mix"), dict):
        out["energy_mix"] = energy_mix_out_211(out["energy_mix"])
    if isinstance(out.get("opening_times"), dict):
        out["opening_times"] = _hours_out(out["opening_times"], True, strict)
    derived = _TYPE_TO_PARKING.get(out.get("parking_type") or "")
    if derived and out.get("type") not in (derived,):
        out["type"] = derived
    out.setdefault("type", "UNKNOWN")
    return out


# --- public --------------------------------------------------------------------

def to_canonical(obj: dict[str, Any], version: str, kind: str,
                 country_code: str | None = None, party_id: str | None = None) -> dict[str, Any]:
    """Wire object of ``version`` -> canonical; ``kind`` is location, evse or connector."""
    if is_v2_1(version):
        if kind == "connector":
            return _connector_in_211(obj)
        if kind == "evse":
            return _evse_in_211(obj)
        out = _location_in_211(obj)
        if country_code is not None:
            out.setdefault("country_code", country_code)
            out.setdefault("party_id", party_id)
        return out
    return dict(obj)


def to_wire(obj: dict[str, Any], version: str, kind: str, strict: bool = True) -> dict[str, Any]:
    """Canonical -> wire object of ``version``.

    ``strict`` (what partners see) leaves out other versions' fields;
    non-strict keeps them so a PATCH merge in an old version loses nothing.
    """
    if is_v2_1(version):
        if kind == "connector":
            out = _connector_out_211(obj)
        elif kind == "evse":
            out = _evse_out_211(obj, strict)
        else:
            out = _location_out_211(obj, strict)
        key = "2.1.1"
    else:
        out = dict(obj)
        if kind == "location":
            if isinstance(obj.get("evses"), list):
                out["evses"] = [to_wire(e, version, "evse", strict) for e in obj["evses"]]
            if strict and isinstance(obj.get("opening_times"), dict):
                out["opening_times"] = _hours_out(obj["opening_times"], False, True)
        elif kind == "evse" and isinstance(obj.get("connectors"), list):
            out["connectors"] = [to_wire(c, version, "connector", strict)
                                 for c in obj["connectors"]]
        key = version if version in SCHEMAS else "2.3.0"
    if strict:
        _fill_required(out, kind, key)
        return drop(out, _OTHER_VERSION_FIELDS[kind][key])
    return dict(out)


_ID_MAX_22 = 36  # Location id and EVSE uid: 2.1.1 allows 39, 2.2.1 and 2.3.0 only 36


def _coordinates(location: dict[str, Any]) -> tuple[str, str] | None:
    coords = location.get("coordinates")
    if not isinstance(coords, dict) or coords.get("latitude") is None \
            or coords.get("longitude") is None:
        return None
    return str(coords["latitude"]), str(coords["longitude"])


def _zone_of(location: dict[str, Any]) -> str | None:
    point = _coordinates(location)
    return None if point is None else time_zone_at(*point)


def derive_time_zone(location: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Our own Location (wire or canonical) with the ``time_zone`` of its coordinates
    when it has none, and the note that says so; unchanged and None when it has one
    or none can be derived. Pricing and 2.2+ partners need the zone, and 2.1.1 data
    (the specification's own example) often lacks it. Never for a partner's."""
    if location.get("time_zone") is not None:
        return location, None
    zone = _zone_of(location)
    if zone is None:
        return location, None
    note = f"time_zone: derived from the coordinates as {zone}"
    if at_sea(zone):
        note += " (open sea there: check the coordinates)"
    return {**location, "time_zone": zone}, note


def time_zone_problem(location: dict[str, Any]) -> str | None:
    """Why our own Location lacks the ``time_zone`` 2.2.1 and 2.3.0 require, naming
    the field; None when it has one."""
    if location.get("time_zone") is not None:
        return None
    head = "time_zone: required for our own Locations (partners on 2.2.1 and 2.3.0 need it)"
    point = _coordinates(location)
    if point is None:
        return f"{head}, and there are no coordinates to derive it from"
    zone = time_zone_at(*point)
    if zone is not None:  # a caller that skipped derive_time_zone
        return f"{head}: the coordinates give {zone}"
    return (f"{head}, and no zone is known at its coordinates (latitude {point[0]!r}, "
            f"longitude {point[1]!r})")


def unservable(location: dict[str, Any]) -> str | None:
    """Why our own Location (wire or canonical) could not be served valid in 2.2.1
    and 2.3.0, naming the field; None when it can. Partners' objects are kept as
    sent; ours must be writable only in a form every version carries."""
    problem = time_zone_problem(location)
    if problem is not None:
        return problem
    if len(str(location.get("id", ""))) > _ID_MAX_22:
        return f"id: at most {_ID_MAX_22} characters for our own Locations (2.2.1 and 2.3.0)"
    for n, evse in enumerate(location.get("evses") or ()):
        problem = evse_unservable(evse) if isinstance(evse, dict) else None
        if problem is not None:
            return f"evses.{n}.{problem}"
    return None


def evse_unservable(evse: dict[str, Any]) -> str | None:
    """``unservable`` for one of our EVSEs."""
    if len(str(evse.get("uid", ""))) > _ID_MAX_22:
        return f"uid: at most {_ID_MAX_22} characters for our own EVSEs (2.2.1 and 2.3.0)"
    return None


def _fill_required(out: dict[str, Any], kind: str, version: str) -> None:
    """What partners see: DateTimes within string(25), and the documented defaults
    for fields ``version`` requires that the canonical object may lack."""
    if "last_updated" in out:
        out["last_updated"] = emitted(out["last_updated"])
    if kind == "evse" and "status_schedule" in out:
        out["status_schedule"] = _periods_out(out["status_schedule"])
    if kind != "location":
        return
    if version == "2.1.1":
        # required in 2.1.1 only; "" is how countries without postal codes fill it
        if out.get("postal_code") is None:
            out["postal_code"] = ""
    elif out.get("time_zone") is None:
        # required from 2.2 on; only a Location a partner sent in 2.1.1 lacks it (ours
        # get the zone of their coordinates, or are refused): never guessed, so "#NA"
        out["time_zone"] = NOT_AVAILABLE
