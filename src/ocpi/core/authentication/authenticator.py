"""The seed library's ``Authenticator``, plus a per-token lookup.

Users subclass it and implement ``get_valid_token_c``/``get_valid_token_a``
(lists of tokens). The node asks ``identify(token)``, which by default checks
those lists; the built-in registry overrides it with one indexed lookup that
also says which party the token belongs to.
"""

from dataclasses import dataclass
from typing import Any

from ..enums import RoleEnum


class AuthorizationOCPIError(Exception):
    """Raised by ``authenticate`` for an unknown token (seed-compatible)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a partner (possibly of unknown party) or the operator."""

    # "C" registered partner, "OLD" its replaced token in grace (no credentials changes),
    # "A" registration only, "operator"
    token_kind: str
    country_code: str | None = None
    party_id: str | None = None
    role: RoleEnum | None = None
    peer_id: int | None = None
    parties: tuple[tuple[str, str, str], ...] = ()  # (country_code, party_id, role) it may act as
    explicit_nulls: bool = False  # its profile wants every optional field, null when unset
    # a hub the operator lets write for any party (a 2.1.1 hub cannot say whom it reaches)
    any_party: bool = False
    name: str | None = None  # the partner's name in our registry (the access log says it)

    @property
    def is_operator(self) -> bool:
        return self.token_kind == "operator"

    def acts_as(self, roles: frozenset[str]) -> bool:
        """Does this caller speak for a party in one of ``roles`` (a hub for any)?"""
        if self.is_operator:
            return True
        if self.parties:
            return any(p[2] in roles or p[2] == "HUB" for p in self.parties)
        if self.role is not None:
            return str(self.role) in roles or str(self.role) == "HUB"
        return True  # a user authenticator that knows no roles: unchecked

    @property
    def is_hub(self) -> bool:
        if self.parties:
            return any(p[2] == "HUB" for p in self.parties)
        return self.role == RoleEnum.hub

    def owns(self, country_code: str, party_id: str) -> bool:
        """May this caller write objects of ``country_code``/``party_id``, by what its
        credentials say? A hub may also write for the parties it reports reaching
        (Hub Client Info), or any the operator lets it (``any_party``):
        ``core.objects.check_namespace`` asks the node for those."""
        if self.is_operator:
            return True
        cc, pid = country_code.upper(), party_id.upper()
        if self.parties:
            return any(p[0].upper() == cc and p[1].upper() == pid for p in self.parties)
        if self.country_code is None:
            return True  # a user authenticator that knows no parties: namespace unchecked
        return self.country_code.upper() == cc and (self.party_id or "").upper() == pid


class Authenticator:
    """Subclass and return the tokens you accept (seed library API)."""

    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return []

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return []

    @classmethod
    async def authenticate(cls, auth_token: str) -> None:
        if auth_token not in await cls.get_valid_token_c():
            raise AuthorizationOCPIError("unknown token")

    @classmethod
    async def authenticate_credentials(cls, auth_token: str) -> Any:
        if auth_token in await cls.get_valid_token_a():
            return {}
        if auth_token in await cls.get_valid_token_c():
            return auth_token
        return None

    @classmethod
    async def identify(cls, token: str) -> Caller | None:
        """Per-token lookup; override for speed and to name the token's party."""
        if token in await cls.get_valid_token_c():
            return Caller("C")
        if token in await cls.get_valid_token_a():
            return Caller("A")
        return None
