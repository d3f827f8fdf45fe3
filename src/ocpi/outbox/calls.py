"""One-off messages: a call to a partner's module endpoint whose answer is kept
(a CDR POSTed, its ``Location`` header recorded), and a callback to a URL the
partner gave (a command's ``response_url``). Queued FIFO with the partner's
other messages, retried until accepted, set aside when refused, like them."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text

from .. import logs
from ..core import jsonutil
from ..store.database import Database, Tx
from ..store.schema import outbox
from .publish import QUEUE_LOCK
from .queue import CALL_KEY, now

log = logging.getLogger("ocpi.outbox")


@dataclass(frozen=True)
class Answer:
    state: str  # pending | answered | dead
    data: Any  # the partner's answer data, once answered
    location: str | None  # its Location header
    last_error: str | None


async def enqueue(db: Database, peer_id: int, module: str, body: Any, *,
                  method: str = "POST", path: str = "", url: str | None = None,
                  to_party: tuple[str, str] | None = None) -> int:
    """Queue one request; ``path`` below the partner's ``module`` receiver endpoint,
    or ``url`` absolute (a callback). Returns its id, for ``answer``."""
    async with db.begin() as tx:
        return await enqueue_in(tx, peer_id, module, body, method=method, path=path,
                                url=url, to_party=to_party)


async def enqueue_in(tx: Tx, peer_id: int, module: str, body: Any, *, method: str = "POST",
                     path: str = "", url: str | None = None,
                     to_party: tuple[str, str] | None = None, object_key: str | None = None,
                     last_updated: datetime | None = None) -> int:
    """``enqueue`` inside a transaction the caller holds (a command's result queued
    with the state change that makes it final). ``object_key``: one of our objects
    posted again (a CDR re-sent), else the call is its own. Publishing transactions
    take turns on PostgreSQL, so the queue's order is their commit order."""
    if tx.dialect == "postgresql":
        await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})
    stamp = now()
    correlation_id = logs.flow_correlation_id(uuid.uuid4().hex)  # the request's, if any
    result = await tx.execute(insert(outbox).values(
        peer_id=peer_id, module=module, object_key=object_key or f"{CALL_KEY}{uuid.uuid4().hex}",
        last_updated=last_updated or stamp,
        data=body if isinstance(body, str) else
        jsonutil.dumps(body).decode() if body is not None else "",
        to_country_code=to_party[0] if to_party else None,
        to_party_id=to_party[1] if to_party else None, state="pending",
        created_at=stamp, attempts=0, correlation_id=correlation_id,
        kind="callback" if url else "call", method=method, url=url or path))
    seq = int(result.inserted_primary_key[0])
    ids = logs.request_ids()
    log.info("outbox: queued message %s: %s %s %s to partner %s", seq,
             "callback" if url else "call", method, logs.safe_url(url) if url else module,
             peer_id, extra=logs.kv(message_id=seq, peer_id=peer_id, module=module,
                                    correlation_id=correlation_id,
                                    request_id=ids[0] if ids else "-",
                                    request_correlation_id=ids[1] if ids else "-"))
    return seq


async def answer(db: Database, seq: int) -> Answer | None:
    async with db.begin() as tx:
        row = (await tx.execute(select(outbox.c.state, outbox.c.answer,
                                       outbox.c.answer_location, outbox.c.last_error)
                                .where(outbox.c.seq == seq))).first()
    if row is None:
        return None
    return Answer(row[0], jsonutil.loads(row[1]) if row[1] else None, row[2], row[3])
