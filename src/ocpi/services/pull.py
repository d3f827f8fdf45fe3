"""Pull a partner's objects into our store (``ocpi peers pull``).

Each page is validated and written in one transaction, object by object as
whole objects: a pull that fails half-way leaves the pages before it stored
and nothing half-written. An object outside the partner's own parties (a
hub's: outside the parties it reports reaching), or invalid, is not stored
and is reported. An object older than the one we have
is left alone, as for a push.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.datetime import format_datetime
from ..core.enums import ModuleID
from ..modules.canonical import from_wire, modules
from ..modules.hubclientinfo.reach import reachable
from ..modules.registry import object_type
from ..modules.versions.enums import is_v2_1
from ..peers.client import OcpiClient
from ..peers.handshake import Us
from ..peers.registry import Peer, Registry
from ..store.sql_store import SqlStore

Progress = Callable[[int, int | None], None]


@dataclass
class PullResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the list was fetched, if unusual

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": len(self.rejected),
                "problems": self.rejected[:20], "notes": self.notes}


async def pull(registry: Registry, store: SqlStore, us: Us, peer: Peer, module: str, *,
               since: datetime | None = None, progress: Progress | None = None,
               retry_delay: float = 0.5, max_objects: int | None = None) -> PullResult:
    """``max_objects``: stop after that many (a pull nobody watches must end)."""
    if module not in modules():
        raise ValueError(f"cannot pull {module!r} (only {', '.join(modules())})")
    if peer.state != "registered" or not peer.token_out or not peer.version:
        raise ValueError(f"partner {peer.name} is {peer.state}: register with it first")
    url = peer.endpoint(module, "SENDER")
    if url is None:
        raise ValueError(f"partner {peer.name} offers no {module} sender endpoint")
    own = {(p.country_code, p.party_id) for p in peer.all_parties()}
    main = (peer.country_code, peer.party_id)
    params: dict[str, Any] = {}
    if since is not None:
        params["date_from"] = format_datetime(since)
    elif module == "sessions":
        params["date_from"] = "1970-01-01T00:00:00Z"  # the specification requires one
    decl = object_type(module)
    if decl.hub_reported and not peer.is_hub:
        raise ValueError(f"partner {peer.name} is not a hub: it reports no {module}")
    reached: set[tuple[str, str]] = set()  # a hub's parties, by its reports
    barred: set[tuple[str, str]] = set()  # never a hub's: ours, and direct partners'
    if peer.is_hub and not decl.hub_reported:
        barred = await registry.direct_parties() | {
            (p.country_code.upper(), p.party_id.upper()) for p in us.parties}
        if not peer.profile.any_party:  # read once for the whole pull
            reached = await reachable(store.db, main)

    def refused(owner: tuple[str, str]) -> bool:
        """A hub's object of a party it may not act for, or another partner's object
        outside its own parties (2.1.1 objects name none)."""
        if decl.hub_reported or owner in own:
            return False
        if peer.is_hub:
            return owner in barred or not (peer.profile.any_party or owner in reached)
        return not is_v2_1(peer.version)

    result = PullResult()
    async with OcpiClient.for_peer(peer, us.main_party, retry_delay=retry_delay) as client:
        try:
            async for page, total in client.get_pages(url, params=params, module=module,
                                                      notice=result.notes.append):
                accepted = []
                for n, item in enumerate(page, start=result.received):
                    try:
                        obj = from_wire(module, item, peer.version, *main)
                    except ValueError as exc:
                        ident = item.get("id") if isinstance(item, dict) else None
                        result.rejected.append(f"#{n} ({ident!r}): {exc}")
                        continue
                    owner = (str(obj.get("country_code", "")).upper(),
                             str(obj.get("party_id", "")).upper())
                    if refused(owner):
                        whose = "a party it may not act for" if peer.is_hub \
                            else f"not to {peer.name}"
                        result.rejected.append(f"#{n} ({obj.get(decl.id_field)!r}): belongs "
                                               f"to {owner[0]}/{owner[1]}, {whose}")
                        continue
                    accepted.append(obj)
                counts = await store.upsert_many(ModuleID(module), decl.partner_role, accepted)
                result.received += len(page)
                result.created += counts["created"]
                result.updated += counts["updated"]
                result.unchanged += counts["unchanged"]
                if progress is not None:
                    progress(result.received, total)
                if max_objects is not None and result.received >= max_objects:
                    result.notes.append(f"stopped after {result.received} objects")
                    break
        except Exception as exc:
            await registry.mark_reached(peer.id, error=str(exc))
            raise
    await registry.mark_reached(peer.id)
    return result


MAX_REPORTED = 100_000  # parties a hub's list may name, pulled unattended


async def reached_parties(registry: Registry, store: SqlStore, us: Us, peer: Peer
                          ) -> PullResult | None:
    """A hub's list of the parties it reaches, pulled once it is registered: until
    it reports them it may write only for itself. None: not a hub that has one."""
    if not peer.is_hub or peer.endpoint(ModuleID.hub_client_info.value, "SENDER") is None:
        return None
    return await pull(registry, store, us, peer, ModuleID.hub_client_info.value,
                      max_objects=MAX_REPORTED)
