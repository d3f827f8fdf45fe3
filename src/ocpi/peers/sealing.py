"""The tokens we call partners with, sealed (Fernet) in ``peers.token_out``.

A copy of the database or of a backup must not let its reader act as us at every
partner, so the column holds ciphertext under the node's secret key
(``ocpi.secret_key``), opened only when a partner is loaded to be called.
Opening is cached per process by ciphertext: the hot paths (every request's
token lookup, every publish) never pay for it more than once per partner.

The settings row ``secret_key_check`` holds a known text sealed under the key the
database's secrets use. Whatever seals a token first proves its key opens it, so
a command run elsewhere with another key (an operator's laptop against the
production database) is refused instead of sealing tokens the node cannot read.
"""

from functools import lru_cache
from typing import Any

from sqlalchemy import insert, select, update

from ..core import jsonutil
from ..secret_key import SecretKey, SecretKeyError, current
from ..store.database import Database
from ..store.schema import peers, settings

CHECK_KEY = "secret_key_check"
_CHECK_TEXT = "the ocpi node's secret key"


@lru_cache(maxsize=4096)
def _open(key: SecretKey, sealed: str) -> str:
    return key.decrypt(sealed)


def unseal(sealed: str | None) -> str | None:
    """The token a partner row holds (``None`` stays ``None``)."""
    return None if sealed is None else _open(current(), sealed)


async def seal(tx: Any, token: str) -> str:
    """``token`` sealed for storing, in ``tx`` (which must write it): the key is
    checked against the database's first."""
    key = current()
    await _claim(tx, key)
    return key.encrypt(token)


async def _claim(tx: Any, key: SecretKey) -> None:
    """Raise ``SecretKeyError`` unless ``key`` opens what the database holds; the
    first key to seal anything is recorded."""
    row = (await tx.execute(select(settings.c.value)
                            .where(settings.c.key == CHECK_KEY))).first()
    if row is not None:
        if not key.opens(jsonutil.loads(row[0])):
            raise SecretKeyError(f"the database's secrets were sealed with another key than "
                                 f"the one from {key.source}: wrong key?")
        return
    await _check_rows(tx, key)
    await tx.execute(insert(settings).values(
        key=CHECK_KEY, value=jsonutil.dumps(key.encrypt(_CHECK_TEXT)).decode()))


async def _check_rows(tx: Any, key: SecretKey) -> int:
    rows = (await tx.execute(select(peers.c.token_out)
                             .where(peers.c.token_out.is_not(None)))).all()
    closed = sum(1 for (sealed,) in rows if not key.opens(sealed))
    if closed:
        raise SecretKeyError(f"{closed} of {len(rows)} partner tokens do not open with the "
                             f"key from {key.source}: wrong key?")
    return len(rows)


async def verify(db: Database, key: SecretKey) -> int:
    """At start: every sealed token opens with ``key`` (else ``SecretKeyError``);
    the key is recorded if nothing was sealed yet. Returns how many tokens."""
    async with db.begin() as tx:
        await _claim(tx, key)
        return await _check_rows(tx, key)


async def rotate(db: Database, key: SecretKey) -> int:
    """Every secret sealed again under ``key``'s first key, in one transaction (a
    secret that opens with none of its keys changes nothing). Running it again is
    harmless. Returns how many partner tokens (the key check is sealed again too)."""
    async with db.begin() as tx:
        rows = (await tx.execute(select(peers.c.id, peers.c.token_out)
                                 .where(peers.c.token_out.is_not(None)))).all()
        for peer_id, sealed in rows:
            await tx.execute(update(peers).where(peers.c.id == peer_id)
                             .values(token_out=key.rotate(sealed)))
        check = (await tx.execute(select(settings.c.value)
                                  .where(settings.c.key == CHECK_KEY))).first()
        if check is None:
            await tx.execute(insert(settings).values(
                key=CHECK_KEY, value=jsonutil.dumps(key.encrypt(_CHECK_TEXT)).decode()))
        else:
            await tx.execute(update(settings).where(settings.c.key == CHECK_KEY).values(
                value=jsonutil.dumps(key.rotate(jsonutil.loads(check[0]))).decode()))
    return len(rows)
