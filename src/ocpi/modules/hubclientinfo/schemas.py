"""ClientInfo, the same in 2.2.1 and 2.3.0 (2.3.0 adds the role PTP).

Hub Client Info has no 2.1.1 form: a 2.1.1 hub names only itself, and the
operator says whom it reaches (``ocpi peers reach``).
"""

from ...core.types import CiString, ClosedEnum, DateTime, OcpiModel, OpenEnum

CONNECTION_STATUS = ("CONNECTED", "OFFLINE", "PLANNED", "SUSPENDED")
ROLES = ("CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP", "PTP")


class ClientInfo(OcpiModel):
    party_id: CiString(3)
    country_code: CiString(2)
    role: OpenEnum(ROLES)
    status: ClosedEnum(CONNECTION_STATUS)
    last_updated: DateTime


SCHEMAS: dict[str, type[OcpiModel]] = {"2.2.1": ClientInfo, "2.3.0": ClientInfo}
