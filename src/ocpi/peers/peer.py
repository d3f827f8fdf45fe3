"""A registered (or invited) partner, as the registry holds it.

Kept apart from the registry so the store's outbox can read partners
without importing the registry's token handling.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core import jsonutil
from .credentials import Party
from .profile import Profile
from .sealing import unseal


@dataclass
class Peer:
    id: int
    name: str
    country_code: str
    party_id: str
    role: str
    state: str  # invited, registering, registered, unregistered
    version: str | None = None
    versions_url: str | None = None
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    hub_party_id: str | None = None
    # opened from its sealed column (peers.sealing); never in a repr or a log
    token_out: str | None = field(default=None, repr=False)
    profile: Profile = field(default_factory=Profile)
    last_reached_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def from_row(cls, r: Any) -> "Peer":
        parties = [Party.from_dict(p) for p in jsonutil.loads(r.parties)] if r.parties else []
        return cls(r.id, r.name, r.country_code, r.party_id, r.role, r.state, r.version,
                   r.versions_url, jsonutil.loads(r.endpoints) if r.endpoints else [],
                   parties, r.hub_party_id, unseal(r.token_out), Profile.from_json(r.profile),
                   r.last_reached_at, r.last_error)

    @property
    def is_hub(self) -> bool:
        return self.role == "HUB" or any(p.role == "HUB" for p in self.parties)

    def all_parties(self) -> list[Party]:
        return self.parties or [Party(self.role, self.country_code, self.party_id, {})]

    def endpoint(self, module: str, interface: str | None = None) -> str | None:
        """URL of the partner's ``module`` endpoint (2.2+: with that interface role)."""
        for ep in self.endpoints:
            if ep.get("identifier") != module:
                continue
            if interface is None or ep.get("role") in (None, interface):
                return str(ep["url"])
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "state": self.state, "role": self.role,
            "country_code": self.country_code, "party_id": self.party_id,
            "parties": [{"role": p.role, "country_code": p.country_code,
                         "party_id": p.party_id} for p in self.all_parties()],
            "version": self.version, "versions_url": self.versions_url,
            "modules": sorted({str(e.get("identifier")) for e in self.endpoints}),
            "profile": self.profile.as_dict(),
            "last_reached_at": self.last_reached_at.isoformat() + "Z"
            if self.last_reached_at else None,
            "last_error": self.last_error,
        }
