"""A Smappee park session -> the canonical OCPI session.

Every field of a Smappee session is treated as optional; the raw session is
kept under ``_source`` (private: never shown to partners). A station that
the operator has not mapped is an error, never an invented location.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ...core.datetime import format_datetime, parse_datetime
from .config import SmappeeConfig

STATUS = {"INITIAL": "PENDING", "STARTED": "ACTIVE", "CHARGING": "ACTIVE",
          "SUSPENDED": "ACTIVE", "STOPPING": "ACTIVE", "STOPPED": "COMPLETED"}
_RANK = {"PENDING": 0, "ACTIVE": 1, "COMPLETED": 2}


class UnmappedStation(ValueError):
    """A session on a station the operator has not mapped to a location/EVSE."""

    def __init__(self, serial: Any, connector: Any) -> None:
        where = f"{serial}" + (f" connector {connector}" if connector is not None else "")
        super().__init__(f"station {where} is not mapped to a location/EVSE "
                         "(add it to 'stations' in the Smappee config)")
        self.serial = serial


def session_id(park: str, raw_id: Any) -> str:
    """Smappee ids are unique per park only: the park makes them unique here."""
    return f"SMP-{park}-{raw_id}"


def epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds as Smappee may send them (int, float, numeric string)."""
    number = _number(value)
    if number is None or not number.is_finite():
        return None
    return int(number)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_to_text(ms: Any) -> str | None:
    """Epoch ms as OCPI DateTime text, exact to the millisecond (integer arithmetic:
    a float division could land a microsecond short and lose a millisecond)."""
    value = epoch_ms(ms)
    if value is None:
        return None
    try:
        return format_datetime(_EPOCH + timedelta(milliseconds=value))
    except (ValueError, OverflowError):
        return None


def smappee_start_ms(session: dict[str, Any]) -> int | None:
    """The ``from`` of the Smappee session behind a stored session: Smappee filters on
    it, and our ``start_date_time`` moves off it when the session turns ACTIVE."""
    raw = (session.get("_source") or {}).get("smappee") or {}
    return epoch_ms(raw.get("from"))


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _kwh(raw: dict[str, Any]) -> Decimal:
    start = _number(raw.get("startReading"))
    now = _number(raw.get("stopReading"))
    if now is None:
        now = _number(raw.get("currentReading")) or _number(raw.get("reading"))
    if start is None or now is None:
        return Decimal(0)
    return max(now - start, Decimal(0))


def to_session(raw: dict[str, Any], park: str, config: SmappeeConfig, owner: tuple[str, str],
               previous: dict[str, Any] | None = None,
               authorization: dict[str, Any] | None = None, *, completed: bool = False,
               seen_at: str | None = None) -> dict[str, Any]:
    """Map one Smappee session.

    ``completed``: it came from the completed list (``active=false``), which alone
    makes it COMPLETED; in the active list even STOPPED stays ACTIVE until it
    moves over. ``previous`` is what we stored before (kWh and status never go
    backwards), ``authorization`` a real-time authorization on record
    ({country_code, party_id, authorization_reference}); ``seen_at`` the time
    of this sync, the end of a completed session Smappee gives no ``to`` for.
    """
    if raw.get("id") is None:
        raise ValueError("a Smappee session without an id")
    serial, connector = raw.get("serialNumber"), raw.get("connector", raw.get("connectorId"))
    station = config.station(serial, connector)
    if station is None:
        raise UnmappedStation(serial, connector)
    if completed:
        status = "COMPLETED"
    else:
        status = STATUS.get(str(raw.get("status") or "").upper()) or \
            (previous or {}).get("status") or "ACTIVE"
        status = "ACTIVE" if status == "COMPLETED" else status
    kwh = _kwh(raw)
    start = ms_to_text(raw.get("from"))
    if start is None and raw.get("from") is not None:
        raise ValueError(f"session {raw['id']}: 'from' {raw['from']!r} is not epoch ms")
    start = start or (previous or {}).get("start_date_time") or seen_at  # first seen
    if previous is not None:
        kwh = max(kwh, _number(previous.get("kwh")) or Decimal(0))
        if _RANK.get(previous.get("status", ""), 0) > _RANK[status]:
            status = previous["status"]
        start = _start_date_time(previous, status, start, seen_at)
    uid = str(raw["rfid"]) if raw.get("rfid") else f"SMAPPEE-{serial}"
    token_owner = config.token_owner(uid)
    if authorization:
        token_owner = (authorization["country_code"], authorization["party_id"])
    token_cc, token_pid = token_owner or owner
    session: dict[str, Any] = {
        "country_code": owner[0], "party_id": owner[1], "id": session_id(park, raw["id"]),
        "start_date_time": start,
        "kwh": kwh,
        "cdr_token": {"country_code": token_cc, "party_id": token_pid, "uid": uid[:36],
                      "type": "RFID" if raw.get("rfid") else "OTHER",
                      "contract_id": uid[:36]},
        "auth_method": "AUTH_REQUEST" if authorization else "WHITELIST",
        "location_id": station.location_id, "evse_uid": station.evse_uid,
        "connector_id": station.connector_id, "currency": config.currency, "status": status,
        "_source": {"smappee": raw, "park": park},
    }
    if authorization and authorization.get("authorization_reference"):
        session["authorization_reference"] = authorization["authorization_reference"]
    if status == "COMPLETED":
        end = ms_to_text(raw.get("to")) or (previous or {}).get("end_date_time") or seen_at
        if end:
            session["end_date_time"] = end
    return session


def _start_date_time(previous: dict[str, Any], status: str, start: str | None,
                     seen_at: str | None) -> str | None:
    """OCPI: ``start_date_time`` is when the session became ACTIVE; while PENDING, when
    it was created. Smappee's ``from`` is the creation and no field dates the change
    from INITIAL, so the sync that first sees a PENDING session active moves the start
    to its own time (at most one polling interval late), once: later rounds keep it."""
    before = previous.get("status")
    if before == "PENDING" and status == "ACTIVE" and seen_at is not None:
        if start is None or parse_datetime(seen_at) > parse_datetime(start):
            return seen_at
        return start
    if before in ("ACTIVE", "COMPLETED") and previous.get("start_date_time"):
        return str(previous["start_date_time"])
    return start


def same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal but for ``last_updated`` (and the raw copy, which churns with live readings)."""
    skip = {"last_updated", "_source"}
    return {k: v for k, v in a.items() if k not in skip} == \
        {k: v for k, v in b.items() if k not in skip}
