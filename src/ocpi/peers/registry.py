"""The partner registry, and the built-in authenticator that reads it.

Every token a partner may call us with lives here, stored as a SHA-256 hash:
a copy of the database does not hand out working tokens, and a lookup is one
primary-key read. The token *we* call a partner with (``token_out``) has to
be sent, so it cannot be hashed: it is sealed under the node's secret key
(``peers.sealing``) and opened when a partner is loaded, never on the lookup
every request starts with.

Token kinds: ``A`` opens only versions and credentials (registration);
``C`` is a registered partner's token; ``OLD`` is a token replaced by a
rotation, still accepted until ``expires_at`` or until the partner first uses
its new token, so a lost credentials answer never locks a partner out.
"""

import functools
import hashlib
import hmac
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from ..core import jsonutil
from ..core.authentication.authenticator import Caller
from ..core.datetime import utcnow
from ..core.enums import RoleEnum
from ..store.database import Database
from ..store.prepared import Prepared
from ..store.schema import peers, tokens
from .caller_cache import CallerCache
from .credentials import Party
from .peer import Peer
from .profile import Profile
from .sealing import seal

DEFAULT_GRACE_SECONDS = 900


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """43 URL-safe characters: within OCPI's 64 printable-ASCII limit. Never
    starting with ``-``, which a command line would take for an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if token[0].isalnum():
            return token


def _role(value: str) -> RoleEnum:
    try:
        return RoleEnum(value)
    except ValueError:
        return RoleEnum.other


@functools.lru_cache(maxsize=4096)
def _parties(parties: str | None, cc: str, pid: str, role: str
             ) -> tuple[tuple[str, str, str], ...]:
    """A partner's parties, parsed once per distinct value (every request asks)."""
    if parties:
        return tuple((p["country_code"], p["party_id"], p["role"])
                     for p in jsonutil.loads(parties))
    return ((cc, pid, role),)


@functools.lru_cache(maxsize=4096)
def _flags(profile: str | None) -> dict[str, bool]:
    """What a partner's profile says of its calls to us (parsed once per value): its
    answers need every optional field; as a hub, it may write for any party."""
    found = Profile.from_json(profile)
    return {"explicit_nulls": found.explicit_nulls, "any_party": found.any_party}


# a token's kind and its partner: the read every request starts with
_IDENTIFY = Prepared(
    select(tokens.c.kind, peers.c.id, peers.c.country_code, peers.c.party_id, peers.c.role,
           peers.c.parties, peers.c.rotating, peers.c.profile, peers.c.name)
    .join(peers, peers.c.id == tokens.c.peer_id)
    .where(tokens.c.token_hash == bindparam("token_hash")))


def _now() -> datetime:
    return utcnow().replace(tzinfo=None)


class _Superseded(Exception):
    """Raised inside a transaction to roll it back."""


class RegistryError(ValueError):
    """A registry change that does not fit the partner's state."""


async def _add_token(tx: Any, peer_id: int, token: str, kind: str, now: datetime) -> None:
    """Every token enters the registry here, hashed."""
    await tx.execute(insert(tokens).values(token_hash=hash_token(token), peer_id=peer_id,
                                           kind=kind, created_at=now))


def _peer_values(**values: Any) -> dict[str, Any]:
    """Column values for ``peers`` from Python values (lists become JSON text)."""
    out = dict(values)
    if "parties" in out and out["parties"] is not None:
        plist = out["parties"]
        out["parties"] = jsonutil.dumps([p.as_dict() for p in plist]).decode()
        if plist:
            out.setdefault("country_code", plist[0].country_code)
            out.setdefault("party_id", plist[0].party_id)
            out.setdefault("role", plist[0].role)
    if "endpoints" in out and out["endpoints"] is not None:
        out["endpoints"] = jsonutil.dumps(out["endpoints"]).decode()
    if isinstance(out.get("profile"), Profile):
        out["profile"] = out["profile"].to_json()
    return out


async def _stored(tx: Any, **values: Any) -> dict[str, Any]:
    """``_peer_values``, with the token we call the partner with sealed."""
    out = _peer_values(**values)
    if out.get("token_out") is not None:
        out["token_out"] = await seal(tx, out["token_out"])
    return out


class Registry:
    def __init__(self, db: Database, grace_seconds: float | None = None,
                 callers: CallerCache | None = None) -> None:
        self.db = db
        self.callers = callers  # who a token is, kept between requests (caller_cache)
        if grace_seconds is None:
            grace_seconds = float(os.environ.get("OCPI_TOKEN_GRACE_SECONDS",
                                                 DEFAULT_GRACE_SECONDS))
        self.grace = timedelta(seconds=grace_seconds)

    # --- reading -----------------------------------------------------------------

    async def get(self, name: str) -> Peer | None:
        async with self.db.begin() as tx:
            row = (await tx.execute(select(peers).where(peers.c.name == name))).first()
        return Peer.from_row(row) if row else None

    async def get_by_id(self, peer_id: int) -> Peer | None:
        async with self.db.begin() as tx:
            row = (await tx.execute(select(peers).where(peers.c.id == peer_id))).first()
        return Peer.from_row(row) if row else None

    async def list_peers(self) -> list[Peer]:
        async with self.db.begin() as tx:
            rows = (await tx.execute(select(peers).order_by(peers.c.id))).all()
        return [Peer.from_row(r) for r in rows]

    async def direct_parties(self) -> set[tuple[str, str]]:
        """The parties registered with us themselves (not through a hub): they act with
        their own tokens, and no hub may act for them."""
        return {(q.country_code.upper(), q.party_id.upper())
                for p in await self.list_peers() if p.state == "registered" and not p.is_hub
                for q in p.all_parties()}

    async def holds_directly(self, country_code: str, party_id: str) -> bool:
        return (country_code.upper(), party_id.upper()) in await self.direct_parties()

    async def identify(self, token: str) -> Caller | None:
        """Every request's first step: one prepared read when nothing is rotating, none
        when the process knows the token already (``caller_cache``)."""
        key = hash_token(token)
        cache, generation = self.callers, 0
        if cache is not None:
            known = cache.get(key)
            if known is not None:
                return known
            generation = cache.generation
        found = await self.db.fetch(_IDENTIFY, {"token_hash": key})
        if not found:
            return None
        kind, peer_id, cc, pid, role, parties, rotating, profile, name = found[0]
        if kind == "A":
            caller = Caller("A", cc, pid, _role(role), peer_id,
                            explicit_nulls=_flags(profile)["explicit_nulls"], name=name)
        elif kind == "C" and not rotating:
            caller = Caller("C", cc, pid, _role(role), peer_id,
                            _parties(parties, cc, pid, role), **_flags(profile), name=name)
        else:
            return await self._identify_in_grace(token)
        if cache is not None:
            cache.put(key, caller, generation)
        return caller

    async def _identify_in_grace(self, token: str) -> Caller | None:
        """An old token in its grace period, or the first use of a new one."""
        stmt = (select(tokens.c.kind, tokens.c.expires_at, peers.c.id, peers.c.country_code,
                       peers.c.party_id, peers.c.role, peers.c.parties, peers.c.rotating,
                       peers.c.profile, peers.c.name)
                .join(peers, peers.c.id == tokens.c.peer_id)
                .where(tokens.c.token_hash == hash_token(token)))
        async with self.db.begin() as tx:
            row = (await tx.execute(stmt)).first()
            if row is None:
                return None
            if row.kind == "OLD" and (row.expires_at is None or row.expires_at <= _now()):
                await tx.execute(delete(tokens).where(tokens.c.token_hash == hash_token(token)))
                return None
            if row.kind == "C" and row.rotating:
                # the partner uses its new token: the replaced ones have served their grace
                await tx.execute(delete(tokens).where(tokens.c.peer_id == row.id,
                                                      tokens.c.kind == "OLD"))
                await tx.execute(update(peers).where(peers.c.id == row.id)
                                 .values(rotating=False))
        flags = _flags(row.profile)
        if row.kind == "A":
            return Caller("A", row.country_code, row.party_id, _role(row.role), row.id,
                          explicit_nulls=flags["explicit_nulls"], name=row.name)
        kind = "OLD" if row.kind == "OLD" else "C"
        return Caller(kind, row.country_code, row.party_id, _role(row.role), row.id,
                      _parties(row.parties, row.country_code, row.party_id, row.role), **flags,
                      name=row.name)

    # --- partners we invite (they register with us) --------------------------------

    async def add_peer(self, country_code: str, party_id: str, role: str,
                       token: str | None = None, name: str | None = None) -> tuple[Peer, str]:
        """A partner registered by hand (no handshake): returns it and its token."""
        return await self._create(country_code, party_id, role, name, "registered", "C", token)

    async def invite(self, country_code: str, party_id: str, role: str,
                     name: str | None = None, also: list[tuple[str, str]] = (),
                     profile: Profile | None = None) -> tuple[Peer, str]:
        """A partner that will register by the credentials handshake: returns token A.

        ``also`` lists further (country_code, party_id) the platform may register
        for; nothing outside the invitation is accepted (a hub excepted).
        ``profile`` holds quirks its registration already needs (our credentials
        answer is the first object it gets from us).
        """
        return await self._create(country_code, party_id, role, name, "invited", "A", None,
                                  also, profile)

    async def _create(self, country_code: str, party_id: str, role: str, name: str | None,
                      state: str, kind: str, token: str | None,
                      also: list[tuple[str, str]] = (), profile: Profile | None = None
                      ) -> tuple[Peer, str]:
        token = token or new_token()
        cc, pid, role = country_code.upper(), party_id.upper(), RoleEnum(role.upper()).value
        name = name or f"{cc}-{pid}-{role}".lower()
        now = _now()
        async with self.db.begin() as tx:
            existing = (await tx.execute(select(peers.c.id, peers.c.state)
                                         .where(peers.c.name == name))).first()
            if existing and existing.state == "registered" and state == "invited":
                raise RegistryError(f"partner {name} is registered; unregister it before "
                                    "inviting it again")
            if existing:
                await tx.execute(delete(peers).where(peers.c.id == existing.id))
                await tx.execute(delete(tokens).where(tokens.c.peer_id == existing.id))
            peer_id = (await tx.execute(insert(peers).values(
                name=name, country_code=cc, party_id=pid, role=role, state=state,
                created_at=now, rotating=False,
                profile=profile.to_json() if profile is not None else None,
                parties=jsonutil.dumps([Party(role, c.upper(), p.upper(), {}).as_dict()
                                        for c, p in [(cc, pid), *also]]).decode(),
            ).returning(peers.c.id))).scalar_one()
            await tx.execute(delete(tokens).where(tokens.c.token_hash == hash_token(token)))
            await _add_token(tx, peer_id, token, kind, now)
        peer = await self.get_by_id(peer_id)
        assert peer is not None
        return peer, token

    async def complete_invited(self, peer_id: int, **details: Any) -> str | None:
        """Server side of POST: token A is dropped, a fresh token C returned.

        ``None`` when the partner is no longer invited (a concurrent POST won).
        """
        token = new_token()
        now = _now()
        async with self.db.begin() as tx:
            done = await tx.execute(update(peers).where(peers.c.id == peer_id,
                                                        peers.c.state == "invited").values(
                state="registered", last_reached_at=now, last_error=None,
                **await _stored(tx, **details)))
            if not done.rowcount:
                return None
            await tx.execute(delete(tokens).where(tokens.c.peer_id == peer_id))
            await _add_token(tx, peer_id, token, "C", now)
        return token

    async def rotate(self, peer_id: int, token: str, **details: Any) -> str | None:
        """Server side of PUT: a new token C; the old ones keep a grace period.

        ``None`` when the partner is no longer registered or ``token`` (the one
        the PUT came with) was revoked meanwhile: a DELETE is never undone.
        """
        fresh = new_token()
        now = _now()
        try:
            async with self.db.begin() as tx:
                done = await tx.execute(update(peers).where(
                    peers.c.id == peer_id, peers.c.state == "registered").values(
                    rotating=True, last_reached_at=now, last_error=None,
                    **await _stored(tx, **details)))
                current = await tx.execute(update(tokens).where(
                    tokens.c.token_hash == hash_token(token), tokens.c.peer_id == peer_id,
                    tokens.c.kind == "C").values(kind="OLD", expires_at=now + self.grace))
                if not done.rowcount or not current.rowcount:
                    raise _Superseded  # rolls the transaction back
                await self._replace_tokens(tx, peer_id, fresh, now)
        except _Superseded:
            return None
        return fresh

    async def _replace_tokens(self, tx: Any, peer_id: int, fresh: str, now: datetime) -> None:
        """All current tokens go into their grace period; ``fresh`` becomes current."""
        await tx.execute(update(tokens).where(tokens.c.peer_id == peer_id, tokens.c.kind == "C")
                         .values(kind="OLD", expires_at=now + self.grace))
        await _add_token(tx, peer_id, fresh, "C", now)

    async def unregister(self, peer_id: int) -> None:
        """Its tokens stop working at once; we stop calling it."""
        async with self.db.begin() as tx:
            await tx.execute(delete(tokens).where(tokens.c.peer_id == peer_id))
            await tx.execute(update(peers).where(peers.c.id == peer_id).values(
                state="unregistered", token_out=None, rotating=False))

    # --- partners we register with (we start the handshake) --------------------------

    async def start_registration(self, token_b: str, role: str) -> int:
        """A placeholder peer holding token B, so the partner can call us back with it
        while our POST is in flight. ``abort_registration`` removes it on failure."""
        now = _now()
        async with self.db.begin() as tx:
            peer_id = (await tx.execute(insert(peers).values(
                name=f"registering-{secrets.token_hex(4)}", country_code="", party_id="",
                role=RoleEnum(role.upper()).value, state="registering", created_at=now,
                rotating=False).returning(peers.c.id))).scalar_one()
            await _add_token(tx, peer_id, token_b, "C", now)
        return peer_id

    async def finish_registration(self, peer_id: int, name: str | None, **details: Any
                                  ) -> Peer:
        async with self.db.begin() as tx:
            values = await _stored(tx, **details)
            name = name or (f"{values['country_code']}-{values['party_id']}-"
                            f"{values['role']}").lower()
            clash = (await tx.execute(select(peers.c.id, peers.c.state)
                                      .where(peers.c.name == name, peers.c.id != peer_id))
                     ).first()
            if clash and clash.state == "registered":
                raise RegistryError(f"a registered partner is already called {name}; "
                                    "pass --name")
            if clash:
                await tx.execute(delete(tokens).where(tokens.c.peer_id == clash.id))
                await tx.execute(delete(peers).where(peers.c.id == clash.id))
            await tx.execute(update(peers).where(peers.c.id == peer_id).values(
                name=name, state="registered", last_reached_at=_now(), last_error=None,
                **values))
        peer = await self.get_by_id(peer_id)
        assert peer is not None
        return peer

    async def abort_registration(self, peer_id: int) -> None:
        async with self.db.begin() as tx:
            await tx.execute(delete(tokens).where(tokens.c.peer_id == peer_id))
            await tx.execute(delete(peers).where(peers.c.id == peer_id))

    async def add_token(self, peer_id: int, token: str) -> None:
        """An extra current token (client-side rotation: valid before our PUT is sent)."""
        async with self.db.begin() as tx:
            await _add_token(tx, peer_id, token, "C", _now())

    async def drop_token(self, token: str) -> None:
        async with self.db.begin() as tx:
            await tx.execute(delete(tokens).where(tokens.c.token_hash == hash_token(token)))

    async def complete_update(self, peer_id: int, keep: str, **details: Any) -> None:
        """Client side of PUT, in one transaction: the partner's new details and
        token, and every token of ours but ``keep`` into its grace period."""
        now = _now()
        async with self.db.begin() as tx:
            await tx.execute(update(tokens).where(tokens.c.peer_id == peer_id,
                                                  tokens.c.kind == "C",
                                                  tokens.c.token_hash != hash_token(keep))
                             .values(kind="OLD", expires_at=now + self.grace))
            await tx.execute(update(peers).where(peers.c.id == peer_id).values(
                rotating=True, last_reached_at=now, last_error=None,
                **await _stored(tx, **details)))

    # --- bookkeeping --------------------------------------------------------------

    async def update_peer(self, peer_id: int, **details: Any) -> None:
        async with self.db.begin() as tx:
            await tx.execute(update(peers).where(peers.c.id == peer_id)
                             .values(**await _stored(tx, **details)))

    async def mark_reached(self, peer_id: int, error: str | None = None) -> None:
        values: dict[str, Any] = {"last_error": error}
        if error is None:
            values["last_reached_at"] = _now()
        await self.update_peer(peer_id, **values)

    async def set_profile(self, name: str, **changes: Any) -> Peer:
        peer = await self.get(name)
        if peer is None:
            raise RegistryError(f"no partner called {name}")
        profile = peer.profile.updated(**changes)
        await self.update_peer(peer.id, profile=profile)
        peer.profile = profile
        return peer


class BuiltinAuthenticator:
    """Partners from the registry, plus the operator token for management."""

    def __init__(self, registry: Registry, operator_token: str | None) -> None:
        self.registry = registry
        self._operator = operator_token

    async def identify(self, token: str) -> Caller | None:
        if self._operator and hmac.compare_digest(token, self._operator):
            return Caller("operator")
        return await self.registry.identify(token)
