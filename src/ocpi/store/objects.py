"""What the store knows of an object type, registered from above (the module kernel).

The store imports no module: each module's declaration registers a
``StoredType`` here (its table, how its key and indexed columns are read from
an object, which rows are the node's own) and the store reads only that.
Writes of the node's own objects call the hooks registered with
``on_own_write`` in the writing transaction (the outbox registers itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

if TYPE_CHECKING:
    from .database import Tx

Columns = Callable[[dict[str, Any]], dict[str, Any]]


def _no_columns(data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _plain_id(id: str, kwargs: dict[str, Any]) -> str:
    return id


@dataclass(frozen=True)
class StoredType:
    name: str  # the module id: what the store's callers name it by
    table: Table
    # rows stored under this role are the node's own (their sender); others are partners'
    own_role: str
    # the row's id column, from a whole object: one string even for a composite key
    key: Callable[[dict[str, Any]], str] = field(default=lambda data: data["id"])
    # the same from a ``Crud`` call's ``id`` and keyword extras (e.g. a token's type)
    key_of_call: Callable[[str, dict[str, Any]], str] = _plain_id
    columns: Columns = _no_columns  # indexed columns pulled out of an object
    # zero-copy flags of the node's own rows (which versions the text is the wire form of)
    wire_versions: Callable[[dict[str, Any]], str | None] | None = None
    # a partner's list page shows it only the rows of its own tokens (token_* columns)
    visible_to_token_owner: bool = False


STORED: dict[str, StoredType] = {}

# (tx, module, objects, deleted) -> messages queued
OwnWriteHook = Callable[["Tx", str, list[dict[str, Any]], bool], Awaitable[int]]
_OWN_WRITE: list[OwnWriteHook] = []
# (tx, module, objects, deleted) -> what to finish after the own-write hooks (or None):
# work done before the outbox queues the objects' messages (and, on PostgreSQL, takes
# the lock that orders publishing), whose writes must still come after those messages
Finish = Callable[[], Awaitable[int]]
PreparedHook = Callable[["Tx", str, list[dict[str, Any]], bool], Awaitable[Finish | None]]
_PREPARED: list[PreparedHook] = []


def register(stored: StoredType) -> StoredType:
    STORED[stored.name] = stored
    return stored


def stored(name: str) -> StoredType:
    try:
        return STORED[str(name)]
    except KeyError:
        raise LookupError(f"the store holds no {name!r} objects") from None


def on_own_write(hook: OwnWriteHook) -> None:
    """Called with the node's own written objects, inside the writing transaction;
    returns how many messages it queued. Registered once per process."""
    if hook not in _OWN_WRITE:
        _OWN_WRITE.append(hook)


def on_own_write_prepared(hook: PreparedHook) -> None:
    """Called before the own-write hooks, in the same transaction; what it returns runs
    after them (a CDR priced before its session's messages are queued, and written
    after them). Registered once per process."""
    if hook not in _PREPARED:
        _PREPARED.append(hook)


async def run_own_write_hooks(tx: Tx, name: str, objects: list[dict[str, Any]],
                              deleted: bool = False) -> int:
    finishing = [f for hook in _PREPARED if (f := await hook(tx, name, objects, deleted))]
    queued = 0
    for hook in _OWN_WRITE:
        queued += await hook(tx, name, objects, deleted)
    for finish in finishing:
        queued += await finish()
    return queued
