"""One-off messages: a call to a partner's module endpoint whose answer is kept
(a CDR POSTed, its ``Location`` header recorded), and a callback to a URL the
partner gave (a command's ``response_url``). Queued FIFO with the partner's
other messages, retried until accepted, set aside when refused, like them."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from ..core import jsonutil
from ..store.database import Database
from ..store.schema import outbox
from .queue import now


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
    stamp = now()
    async with db.begin() as tx:
        result = await tx.execute(insert(outbox).values(
            peer_id=peer_id, module=module, object_key=f"call/{uuid.uuid4().hex}",
            last_updated=stamp, data=jsonutil.dumps(body).decode() if body is not None else "",
            to_country_code=to_party[0] if to_party else None,
            to_party_id=to_party[1] if to_party else None, state="pending",
            created_at=stamp, attempts=0, correlation_id=uuid.uuid4().hex,
            kind="callback" if url else "call", method=method, url=url or path))
        return int(result.inserted_primary_key[0])


async def answer(db: Database, seq: int) -> Answer | None:
    async with db.begin() as tx:
        row = (await tx.execute(select(outbox.c.state, outbox.c.answer,
                                       outbox.c.answer_location, outbox.c.last_error)
                                .where(outbox.c.seq == seq))).first()
    if row is None:
        return None
    return Answer(row[0], jsonutil.loads(row[1]) if row[1] else None, row[2], row[3])
