"""The Charging Profiles module's objects (OCPI 2.2.1 and 2.3.0 section 14;
2.1.1 has no such module). The SCSP (an eMSP, or a smart-charging party) asks
the CPO about a session at ``{chargingprofiles}/{session_id}``: GET the active
profile, PUT a SetChargingProfile, DELETE to clear. The CPO answers a
ChargingProfileResponse at once and POSTs the result to the ``response_url``
later: an ActiveChargingProfileResult, a ChargingProfileResult or a
ClearProfileResult, each with a ChargingProfileResultType. The CPO PUTs an
ActiveChargingProfile to the SCSP's ``{chargingprofiles}/{session_id}`` when
the session's profile changed.
"""

from typing import Any

from pydantic import model_validator

from ...core.types import ClosedEnum, DateTime, Number, OcpiModel, String

VERSIONS = frozenset({"2.2.1", "2.3.0"})
RESPONSES = ("ACCEPTED", "NOT_SUPPORTED", "REJECTED", "TOO_OFTEN", "UNKNOWN_SESSION")
RESULTS = ("ACCEPTED", "REJECTED", "UNKNOWN")
UNITS = ("W", "A")
# what a request asks, as the record names it (``command_records.command``)
GET, SET, CLEAR = "GET", "SET", "CLEAR"
UPDATE = "UPDATE"  # the CPO's unsolicited ActiveChargingProfile, as the SCSP records it
METHOD = {GET: "GET", SET: "PUT", CLEAR: "DELETE"}

Url = String(255)


class ChargingProfilePeriod(OcpiModel):
    start_period: int
    limit: Number


class ChargingProfile(OcpiModel):
    start_date_time: DateTime | None = None
    duration: int | None = None
    charging_rate_unit: ClosedEnum(UNITS)
    min_charging_rate: Number | None = None
    charging_profile_period: list[ChargingProfilePeriod] | None = None

    @model_validator(mode="after")
    def _periods_in_order(self) -> "ChargingProfile":
        """Each period starts after the one before it, from 0 on (OCPP's rule too):
        otherwise which limit applies when is not said."""
        starts = [p.start_period for p in self.charging_profile_period or ()]
        if any(s < 0 for s in starts) or starts != sorted(set(starts)):
            raise ValueError("charging_profile_period: start_period must rise from 0")
        return self


class ActiveChargingProfile(OcpiModel):
    start_date_time: DateTime
    charging_profile: ChargingProfile


class SetChargingProfile(OcpiModel):
    charging_profile: ChargingProfile
    response_url: Url


class ChargingProfileResponse(OcpiModel):
    result: ClosedEnum(RESPONSES)
    timeout: int


class ActiveChargingProfileResult(OcpiModel):
    result: ClosedEnum(RESULTS)
    profile: ActiveChargingProfile | None = None


class ChargingProfileResult(OcpiModel):
    result: ClosedEnum(RESULTS)


class ClearProfileResult(OcpiModel):
    result: ClosedEnum(RESULTS)


RESULT_MODEL: dict[str, type[OcpiModel]] = {
    GET: ActiveChargingProfileResult, SET: ChargingProfileResult, CLEAR: ClearProfileResult}
# the path word of our response_url per request (the spec leaves it to the SCSP)
RESULT_PATH = {GET: "activeprofile", SET: "chargingprofile", CLEAR: "clearprofile"}
REQUEST_OF_PATH = {v: k for k, v in RESULT_PATH.items()}


def limit_of(profile: dict[str, Any] | None, offset_s: float) -> tuple[float, str] | None:
    """The limit a ChargingProfile sets ``offset_s`` seconds after it started, and its
    unit; None when no period applies (before the first, after ``duration``)."""
    if not profile:
        return None
    duration = profile.get("duration")
    if duration is not None and offset_s >= float(duration):
        return None
    current = None
    periods = sorted(profile.get("charging_profile_period") or [],
                     key=lambda p: float(p["start_period"]))
    for period in periods:
        if float(period["start_period"]) <= offset_s:
            current = float(period["limit"])
    return (current, str(profile["charging_rate_unit"])) if current is not None else None
