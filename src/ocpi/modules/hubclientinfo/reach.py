"""Which parties a hub reaches, as its ClientInfo (or the operator) says.

A hub forwards other parties' objects; it may act only for those it has
reported with a connection that is live or merely down (CONNECTED, OFFLINE).
PLANNED has no contract yet and SUSPENDED will never connect again. Never
for the node's own parties, nor for a party registered with us directly:
that party has its own token. A yes is kept ``ttl`` seconds per hub and
party; a report received or pulled by this process is seen at once
(``forget``), one made in another process within ``ttl``.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from ...core import jsonutil
from ...core.datetime import now_text
from ...core.enums import RoleEnum
from ...core.transport import validation_message
from ...store.keys import id_key, party_key, ts_key
from .declaration import CLIENT_INFO, hub_key

log = logging.getLogger("ocpi.hubclientinfo")

REACHABLE = frozenset({"CONNECTED", "OFFLINE"})
HUB = RoleEnum.hub  # reports are stored under the hub's side, whichever interface told us
LOGGED_PER_TTL = 10  # refusals logged per hub every ttl; the rest are counted

Held = Callable[[str, str], Awaitable[bool]]  # (cc, pid) -> registered with us directly?


async def reaches(crud: Any, hub: tuple[str, str], country_code: str, party_id: str,
                  **kwargs: Any) -> bool:
    """Has ``hub`` reported ``country_code``/``party_id`` as reachable?"""
    if not country_code or not party_id:
        return False  # no party named: nothing a report could be about
    try:
        info = await crud.get(CLIENT_INFO.module, HUB, hub_key(*hub), **kwargs,
                              country_code=country_code, party_id=party_id)
    except (LookupError, NotImplementedError):  # a user's Crud that keeps no reports
        return False
    return info is not None and info.get("status") in REACHABLE


class ReachCache:
    """Yes-answers of ``reaches`` for ``ttl`` seconds: a hub's every write asks, and
    its reports rarely change. A no is asked again each time (a party the operator
    declares in another process counts at once).

    Bounded: past ``size`` answers the cache starts again (a hub writing for
    ever new parties costs lookups, never memory); at most ``LOGGED_PER_TTL``
    refusals per hub are logged every ``ttl``."""

    def __init__(self, ttl: float = 10.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._answers: dict[tuple[str, str, str], float] = {}  # yes, until
        self._generation = 0  # moved by ``forget``: an answer asked before it is not kept
        self._logged: dict[str, tuple[float, int]] = {}  # hub -> window start, refusals

    async def reaches(self, crud: Any, hub: tuple[str, str], country_code: str,
                      party_id: str, held: Held | None = None, any_party: bool = False,
                      **kwargs: Any) -> bool:
        """``any_party``: the operator lets the hub act for any party, reports or not
        (never one ``held`` directly). Every yes is kept ``ttl`` seconds, so the
        partner registry is read once per hub and party, not per write."""
        if not country_code or not party_id:
            return False  # no party named: nobody a hub could act for
        now = time.monotonic()
        key = (hub_key(*hub), country_code.upper(), party_id.upper())
        if self._answers.get(key, 0.0) > now:
            return True
        generation = self._generation
        answer = any_party or await reaches(crud, hub, country_code, party_id, **kwargs)
        if answer and held is not None and await held(key[1], key[2]):
            answer = False  # registered with us directly: it acts with its own token
        if not answer:
            self._refused(key, now)
            return False
        if generation == self._generation:
            if len(self._answers) >= self.size:
                self._answers.clear()
            self._answers[key] = now + self.ttl
        return True

    def _refused(self, key: tuple[str, str, str], now: float) -> None:
        start, count = self._logged.get(key[0], (now, 0))
        if now - start > self.ttl:
            start, count = now, 0
        if count < LOGGED_PER_TTL:
            log.warning("hub %s acted for %s/%s, which it may not (not reported reaching "
                        "by Hub Client Info, or registered with us directly); refused",
                        key[0], key[1], key[2])
        elif count == LOGGED_PER_TTL:
            log.warning("hub %s: further refusals are not logged for %.0f s", key[0], self.ttl)
        if len(self._logged) >= self.size:
            self._logged.clear()
        self._logged[key[0]] = (start, count + 1)

    def forget(self, hub: tuple[str, str]) -> None:
        """Drop the answers about ``hub`` (it has just reported something)."""
        self._generation += 1
        prefix = hub_key(*hub)
        for key in [k for k in self._answers if k[0] == prefix]:
            del self._answers[key]


async def declare(store: Any, hub: tuple[str, str], country_code: str, party_id: str,
                  role: str, status: str = "CONNECTED") -> dict[str, Any]:
    """The operator says ``hub`` reaches a party (a 2.1.1 hub cannot say it itself),
    stored as that hub's report. It replaces the hub's own report, even one the hub
    dated later: the latest statement wins. ValueError when invalid."""
    cc, pid = country_code.upper(), party_id.upper()
    stamp = now_text()
    before = await store.get(CLIENT_INFO.module, HUB, hub_key(*hub), country_code=cc,
                             party_id=pid)
    if before is not None and ts_key(str(before["last_updated"])) > ts_key(stamp):
        stamp = str(before["last_updated"])  # equal stamps: the new text replaces it
    info = {"country_code": cc, "party_id": pid, "role": role.upper(),
            "status": status.upper(), "last_updated": stamp}
    try:
        CLIENT_INFO.model("2.3.0").model_validate(info, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    await store.upsert_many(CLIENT_INFO.module, HUB,
                            [CLIENT_INFO.to_canonical(info, "2.3.0", *hub)])
    return info


async def forget_party(store: Any, hub: tuple[str, str], country_code: str,
                       party_id: str) -> None:
    """Remove what ``hub`` reported (or the operator declared) about a party."""
    await store.delete(CLIENT_INFO.module, HUB, hub_key(*hub), country_code=country_code,
                       party_id=party_id)


async def reports(db: Any, hub: tuple[str, str]) -> list[dict[str, Any]]:
    """What ``hub`` has reported (or the operator declared for it), by party."""
    t = CLIENT_INFO.table
    stmt = select(t.c.data).where(t.c.role == str(HUB), t.c.id == id_key(hub_key(*hub))
                                  ).order_by(t.c.country_code, t.c.party_id)
    async with db.begin() as tx:
        rows = (await tx.execute(stmt)).all()
    return [CLIENT_INFO.to_wire(jsonutil.loads(text), "2.3.0") for (text,) in rows]


async def reachable(db: Any, hub: tuple[str, str]) -> set[tuple[str, str]]:
    """The parties ``hub`` may act for by its reports, read once (a pull's check)."""
    return {(str(i["country_code"]).upper(), str(i["party_id"]).upper())
            for i in await reports(db, hub) if i.get("status") in REACHABLE}


async def hubs_reaching(tx: Any, country_code: str, party_id: str) -> set[tuple[str, str]]:
    """The hubs (country, party) whose reports say they reach a party now, read in
    ``tx`` (the outbox's writing transaction)."""
    t = CLIENT_INFO.table
    rows = (await tx.execute(select(t.c.data).where(
        t.c.role == str(HUB), t.c.country_code == party_key(country_code),
        t.c.party_id == party_key(party_id)))).all()
    found = set()
    for (text,) in rows:
        info = jsonutil.loads(text)
        if info.get("status") in REACHABLE:
            cc, _, pid = str(info["_reported_by"]).partition("*")
            found.add((cc, pid))
    return found
