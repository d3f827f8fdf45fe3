"""A partner's known quirks, set by the operator and used by every call to it.

Real partners differ from the specification in small, stable ways (a 2.2.1
platform that only takes plain tokens, a hub that caps pages at 20, a library
that wants every optional key present). Keeping
them per partner means the rest of the code never special-cases anyone.
"""

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..core import jsonutil

ROUTING_MODES = ("auto", "on", "off")
DELIVERY_MODES = ("latest-state", "every-message")


def default_timeout() -> float:
    return float(os.environ.get("OCPI_PARTNER_TIMEOUT", "10"))


@dataclass
class Profile:
    plain_token: bool = False  # send the token as-is even on 2.2+ (many 2.2 platforms want it)
    page_limit: int | None = None  # ask for at most this many objects per page
    routing_headers: str = "auto"  # auto: only towards a hub; on; off
    connection_close: bool = False  # send "Connection: close" (partners with broken keep-alive)
    timeout: float | None = None  # seconds; default $OCPI_PARTNER_TIMEOUT or 10
    # outbox: "latest-state" sends each changed object once, current, after an outage;
    # "every-message" replays every update in order (hubs that must see them all)
    delivery: str = "latest-state"
    always_put: bool = False  # never PATCH (partners that do not take it)
    # send every optional field of the version, null when we have no value: for partners
    # that refuse a missing key but take null (the seed tutorials' library); see peers/nulls
    explicit_nulls: bool = False
    # a hub that may write for any party, not only those it reports reaching (Hub Client
    # Info) or the operator declared (``ocpi peers reach``): for 2.1.1 hubs, by choice
    any_party: bool = False

    @classmethod
    def from_json(cls, text: str | None) -> "Profile":
        if not text:
            return cls()
        raw = jsonutil.loads(text)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if values.get("timeout") is not None:
            values["timeout"] = float(values["timeout"])  # stored JSON reads back as Decimal
        return cls(**values)

    def to_json(self) -> str:
        return jsonutil.dumps(self.as_dict()).decode()

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def effective_timeout(self) -> float:
        return float(self.timeout) if self.timeout else default_timeout()

    def updated(self, **changes: Any) -> "Profile":
        """A copy with ``changes`` applied (``None`` values leave a field alone)."""
        data = asdict(self)
        for key, value in changes.items():
            if key not in data:
                raise ValueError(f"unknown profile setting {key!r}")
            if value is not None:
                data[key] = value
        if data["routing_headers"] not in ROUTING_MODES:
            raise ValueError(f"routing_headers must be one of {', '.join(ROUTING_MODES)}")
        if data["delivery"] not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {', '.join(DELIVERY_MODES)}")
        if data["page_limit"] is not None and int(data["page_limit"]) < 1:
            data["page_limit"] = None  # 0 clears the cap
        return Profile(**data)
