"""The transactional half of the outbox: messages are written with the object."""

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, text

from .. import logs
from ..core import jsonutil
from ..core.datetime import utcnow
from ..modules.hubclientinfo.reach import hubs_reaching
from ..modules.kernel import PushRule
from ..modules.registry import object_type
from ..peers.peer import Peer
from ..store.database import Tx
from ..store.keys import ts_key
from ..store.objects import on_own_write
from ..store.schema import delivered, outbox, peers
from .routing import narrowed, object_key, recipients, via_hubs

log = logging.getLogger("ocpi.outbox")
QUEUE_LOCK = 0x0C91_0B0C  # the advisory lock that orders publishing transactions


async def publish(tx: Tx, module: str, objects: Iterable[dict[str, Any]],
                  deleted: bool = False) -> int:
    """Queue each object for every partner that receives it, inside ``tx``.

    Called by the store in the transaction that writes the objects, so an
    object is never stored without its messages. Returns the number queued.
    """
    try:
        decl = object_type(module)
    except LookupError:
        return 0
    if decl.push == PushRule.NONE or (deleted and "DELETE" not in decl.push_methods):
        return 0
    rows = (await tx.execute(select(*_PEER_COLUMNS).where(peers.c.state == "registered"))
            ).all()
    if not rows:
        return 0
    partners = [_partner(r) for r in rows]
    now = utcnow().replace(tzinfo=None)
    # one flow, one X-Correlation-ID: the request's own when it can be (logs.py)
    correlation_id = logs.flow_correlation_id(uuid.uuid4().hex)
    messages = []
    for data in objects:
        targets = recipients(partners, decl, data)
        if not targets:
            continue
        party = via_hubs(targets)
        if party is not None:
            targets = narrowed(targets, await hubs_reaching(tx, *party),
                               await _hubs_carrying(tx, targets, module, object_key(decl, data)))
        snapshot = jsonutil.dumps(data).decode()
        key = object_key(decl, data)
        updated = now if deleted else ts_key(data["last_updated"])
        # posted once (a CDR): a call to the receiver's endpoint, its answer kept
        kind, method = ("call", "POST") if decl.posted else (
            "state", "DELETE" if deleted else None)
        for peer, to in targets:
            messages.append({
                "peer_id": peer.id, "module": module, "object_key": key,
                "last_updated": updated, "data": snapshot,
                "to_country_code": to[0] if to else None, "to_party_id": to[1] if to else None,
                "state": "pending", "created_at": now, "attempts": 0,
                "correlation_id": correlation_id,
                "kind": kind, "method": method, "url": "" if decl.posted else None,
            })
    if messages:
        if tx.dialect == "postgresql":
            # publishers take turns from here to commit, so ``seq`` order is commit
            # order: the worker never sees seq 11 before a seq 10 that commits later
            await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})
        await tx.execute(insert(outbox), messages)
        _log_queued(module, messages, partners, correlation_id)
    return len(messages)


def _log_queued(module: str, messages: list[dict[str, Any]], partners: list[Peer],
                correlation_id: str) -> None:
    """Which write queued what: at INFO when the messages' correlation id is not the
    request's (so the request's ids name it here), else at DEBUG, the request's own
    line and the deliveries sharing the id already."""
    ids = logs.request_ids()
    level = logging.DEBUG if ids is not None and ids[1] == correlation_id else logging.INFO
    if not log.isEnabledFor(level):
        return
    names = {p.id: p.name for p in partners}
    keys = list(dict.fromkeys(m["object_key"] for m in messages))
    to = sorted({names.get(m["peer_id"], str(m["peer_id"])) for m in messages})
    log.log(level, "outbox: queued %d message(s) of %s %s for %s", len(messages), module,
            ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else ""),
            ", ".join(to[:10]) + (f" and {len(to) - 10} more" if len(to) > 10 else ""),
            extra=logs.kv(module=module, objects=len(keys), partners=len(to),
                          correlation_id=correlation_id,
                          request_id=ids[0] if ids else "-",
                          request_correlation_id=ids[1] if ids else "-"))


# what publishing reads of a partner; not when it was last reached (that changes with
# every delivery), so a partner's parsed row is reused until the partner changes
_PEER_COLUMNS = [c for c in peers.c if c.name not in ("last_reached_at", "last_error")]
_PARSED: dict[tuple[Any, ...], Peer] = {}


def _partner(row: Any) -> Peer:
    """The partner of a row, parsed once per content (its endpoints, parties and profile
    are JSON: about 15 µs a partner on every write of ours otherwise)."""
    key = tuple(row)
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) > 10_000:  # partners changed many times: start again
            _PARSED.clear()
        found = _PARSED[key] = Peer.from_row(_WithoutReach(row))
    return found


class _WithoutReach:
    """A publishing row read as a full one: never reached, no error (unused there)."""

    __slots__ = ("_row",)
    last_reached_at = None
    last_error = None

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


async def _hubs_carrying(tx: Tx, targets: list[tuple[Peer, Any]], module: str, key: str
                         ) -> set[int]:
    """The hubs that already have (or are sent) this object: they keep getting it, so
    none is left with a stale copy when another hub starts reporting its eMSP."""
    ids = [p.id for p, _ in targets]
    found: set[int] = set()
    for table in (outbox, delivered):
        rows = (await tx.execute(select(table.c.peer_id).where(
            table.c.peer_id.in_(ids), table.c.module == module,
            table.c.object_key == key))).all()
        found |= {r[0] for r in rows}
    return found


# the store knows no outbox: it calls what is registered for the node's own writes
on_own_write(publish)
