"""The Credentials object in each version, and the parties it names.

2.1.1 carries one party (``country_code``/``party_id``/``business_details``);
2.2+ carries ``roles[]``, so one registration may cover several parties and
roles (a hub, or a platform running a CPO and an eMSP). Both become one list
of ``Party`` so nothing downstream looks at the version again.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from ..core.enums import RoleEnum
from ..core.types import CiString, ClosedEnum, OcpiModel, warn
from ..model.shared import BusinessDetails
from ..modules.versions.enums import is_v2_1


def _token(value: str, info: ValidationInfo) -> str:
    if not value:
        raise ValueError("must not be empty")
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
        warn(info, "token: should use only printable ASCII without spaces")
    return value


Token = Annotated[str, Field(max_length=64), AfterValidator(_token)]


class Credentials211(OcpiModel):
    token: Token
    url: str
    business_details: BusinessDetails
    party_id: CiString(3)
    country_code: CiString(2)


class CredentialsRole(OcpiModel):
    # closed: a role decides what a partner may do, and an unknown one can do nothing
    role: ClosedEnum([r.value for r in RoleEnum])
    business_details: BusinessDetails
    party_id: CiString(3)
    country_code: CiString(2)


class Credentials221(OcpiModel):
    token: Token
    url: str
    roles: Annotated[list[CredentialsRole], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_roles(self) -> "Credentials221":
        seen = set()
        for r in self.roles:
            key = (r.role.upper(), r.country_code.upper(), r.party_id.upper())
            if key in seen:
                raise ValueError(f"roles: {r.role} {r.country_code}/{r.party_id} is listed twice")
            seen.add(key)
        return self


class Credentials230(Credentials221):
    hub_party_id: CiString(5) | None = None


SCHEMAS: dict[str, type[OcpiModel]] = {"2.1.1": Credentials211, "2.2.1": Credentials221,
                                       "2.3.0": Credentials230}


@dataclass(frozen=True)
class Party:
    role: str
    country_code: str
    party_id: str
    business_details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "country_code": self.country_code,
                "party_id": self.party_id, "business_details": self.business_details}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Party":
        return cls(str(d["role"]).upper(), str(d["country_code"]).upper(),
                   str(d["party_id"]).upper(), dict(d.get("business_details") or {}))


def validate(data: Any, version: str, warnings: list[str] | None = None) -> dict[str, Any]:
    """The body as a Credentials object of ``version``; raises ``ValidationError``."""
    model = SCHEMAS.get(version, Credentials230)
    model.model_validate(data, context={"warnings": warnings if warnings is not None else []})
    return dict(data)


def parties(creds: dict[str, Any], version: str, role_211: str | None) -> list[Party]:
    """Who a Credentials object speaks for. 2.1.1 names no role: the caller supplies it."""
    if is_v2_1(version):
        return [Party((role_211 or "OTHER").upper(), creds["country_code"].upper(),
                      creds["party_id"].upper(), dict(creds.get("business_details") or {}))]
    return [Party.from_dict(r) for r in creds["roles"]]


def ours(version: str, token: str, versions_url: str, own: list[Party],
         hub_party_id: str | None = None) -> dict[str, Any]:
    """Our Credentials object in ``version`` with ``token`` for the partner to use."""
    if is_v2_1(version):
        first = own[0]
        return {"token": token, "url": versions_url, "business_details": first.business_details,
                "party_id": first.party_id, "country_code": first.country_code}
    out: dict[str, Any] = {"token": token, "url": versions_url,
                           "roles": [p.as_dict() for p in own]}
    if version == "2.3.0" and hub_party_id:
        out["hub_party_id"] = hub_party_id
    return out

