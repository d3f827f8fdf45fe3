"""The partner registry and the built-in authenticator that reads it.

Tokens are stored as SHA-256 hashes: a copy of the database does not hand
out working tokens, and a lookup is one primary-key read.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from ..core.authentication.authenticator import Caller
from ..core.datetime import utcnow
from ..core.enums import RoleEnum
from ..store.database import Database
from ..store.schema import peers, tokens


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Peer:
    id: int
    name: str
    country_code: str
    party_id: str
    role: str
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "country_code": self.country_code,
                "party_id": self.party_id, "role": self.role, "state": self.state}


class Registry:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_peer(self, country_code: str, party_id: str, role: str,
                       token: str | None = None, name: str | None = None) -> tuple[Peer, str]:
        """Register a partner allowed to call us; returns it and its token (C)."""
        token = token or new_token()
        cc, pid, role = country_code.upper(), party_id.upper(), RoleEnum(role.upper()).value
        name = name or f"{cc}-{pid}-{role}".lower()
        now = utcnow().replace(tzinfo=None)
        async with self.db.begin() as tx:
            existing = (await tx.execute(select(peers.c.id).where(peers.c.name == name))).first()
            if existing:
                peer_id = existing[0]
                await tx.execute(delete(tokens).where(tokens.c.peer_id == peer_id))
            else:
                peer_id = (await tx.execute(insert(peers).values(
                    name=name, country_code=cc, party_id=pid, role=role, state="registered",
                    created_at=now).returning(peers.c.id))).scalar_one()
            await tx.execute(delete(tokens).where(tokens.c.token_hash == hash_token(token)))
            await tx.execute(insert(tokens).values(token_hash=hash_token(token), peer_id=peer_id,
                                                   kind="C", created_at=now))
        return Peer(peer_id, name, cc, pid, role, "registered"), token

    async def list_peers(self) -> list[Peer]:
        async with self.db.begin() as tx:
            rows = (await tx.execute(select(peers).order_by(peers.c.id))).all()
        return [Peer(r.id, r.name, r.country_code, r.party_id, r.role, r.state) for r in rows]

    async def identify(self, token: str) -> Caller | None:
        stmt = (select(tokens.c.kind, peers.c.id, peers.c.country_code, peers.c.party_id,
                       peers.c.role)
                .join(peers, peers.c.id == tokens.c.peer_id)
                .where(tokens.c.token_hash == hash_token(token)))
        async with self.db.begin() as tx:
            row = (await tx.execute(stmt)).first()
        if row is None:
            return None
        return Caller(row.kind, row.country_code, row.party_id, RoleEnum(row.role), row.id,
                      ((row.country_code, row.party_id, row.role),))


class BuiltinAuthenticator:
    """Partners from the registry, plus the operator token for management."""

    def __init__(self, registry: Registry, operator_token: str | None) -> None:
        self.registry = registry
        self._operator = operator_token

    async def identify(self, token: str) -> Caller | None:
        if self._operator and hmac.compare_digest(token, self._operator):
            return Caller("operator")
        return await self.registry.identify(token)
