"""Which parties a hub reaches, as its ClientInfo (or the operator) says.

A hub forwards other parties' objects; it may write only for those it has
told us about, with a connection that is live or merely down (CONNECTED,
OFFLINE). PLANNED has no contract yet and SUSPENDED will never connect again.
A yes is kept ``ttl`` seconds per hub and party; a report received by this
process is seen at once (``forget``), one made elsewhere within ``ttl``.
"""

import logging
import time
from typing import Any

from ...core.enums import RoleEnum
from .declaration import CLIENT_INFO, hub_key

log = logging.getLogger("ocpi.hubclientinfo")

REACHABLE = frozenset({"CONNECTED", "OFFLINE"})
# a report holds whichever of our interfaces it came in on (a node may be CPO and eMSP)
INTERFACES = (RoleEnum.cpo, RoleEnum.emsp)


async def reaches(crud: Any, hub: tuple[str, str], country_code: str, party_id: str,
                  **kwargs: Any) -> bool:
    """Has ``hub`` reported ``country_code``/``party_id`` as reachable?"""
    key = hub_key(*hub)
    kwargs = {**kwargs, "country_code": country_code, "party_id": party_id}
    for role in INTERFACES:
        info = await crud.get(CLIENT_INFO.module, role, key, **kwargs)
        if info is not None and info.get("status") in REACHABLE:
            return True
    return False


class ReachCache:
    """Yes-answers of ``reaches`` for ``ttl`` seconds: a hub's every write asks, and
    its reports rarely change. A no is asked again each time (a party the operator
    declares in another process counts at once) but logged once per ``ttl``.

    Bounded: past ``size`` answers the cache starts again (a hub writing for
    ever new parties costs lookups, never memory)."""

    def __init__(self, ttl: float = 10.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._answers: dict[tuple[str, str, str], tuple[bool, float]] = {}

    async def reaches(self, crud: Any, hub: tuple[str, str], country_code: str,
                      party_id: str, **kwargs: Any) -> bool:
        now = time.monotonic()
        key = (hub_key(*hub), country_code.upper(), party_id.upper())
        said, until = self._answers.get(key, (False, 0.0))
        fresh = until > now
        if fresh and said:
            return True
        answer = await reaches(crud, hub, country_code, party_id, **kwargs)
        if not answer and not fresh:
            log.warning("hub %s/%s wrote for %s/%s, which it has not reported as "
                        "reachable (Hub Client Info); refused", hub[0], hub[1],
                        key[1], key[2])
        if len(self._answers) >= self.size:
            self._answers.clear()
        if answer or not fresh:
            self._answers[key] = (answer, now + self.ttl)
        return answer

    def forget(self, hub: tuple[str, str]) -> None:
        """Drop the answers about ``hub`` (it has just reported something)."""
        prefix = hub_key(*hub)
        for key in [k for k in self._answers if k[0] == prefix]:
            del self._answers[key]


async def declare(store: Any, hub: tuple[str, str], country_code: str, party_id: str,
                  role: str, status: str = "CONNECTED") -> dict[str, Any]:
    """The operator says ``hub`` reaches a party (a 2.1.1 hub cannot say it itself):
    stored as that hub's report, under both interfaces. ValueError when invalid."""
    from pydantic import ValidationError

    from ...core.datetime import now_text
    from ...core.transport import validation_message

    info = {"country_code": country_code.upper(), "party_id": party_id.upper(),
            "role": role.upper(), "status": status.upper(), "last_updated": now_text()}
    try:
        CLIENT_INFO.model("2.3.0").model_validate(info, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    canonical = CLIENT_INFO.to_canonical(info, "2.3.0", *hub)
    for role_ in INTERFACES:
        await store.upsert_many(CLIENT_INFO.module, role_, [canonical])
    return info


async def reports(db: Any, hub: tuple[str, str]) -> list[dict[str, Any]]:
    """What ``hub`` has reported (or the operator declared for it), one per party."""
    from sqlalchemy import select

    from ...core import jsonutil
    from ...store.keys import id_key

    t = CLIENT_INFO.table
    stmt = select(t.c.data).where(t.c.id == id_key(hub_key(*hub))).order_by(
        t.c.country_code, t.c.party_id, t.c.last_updated.desc())
    async with db.begin() as tx:
        rows = (await tx.execute(stmt)).all()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for (text,) in rows:
        info = CLIENT_INFO.to_wire(jsonutil.loads(text), "2.3.0")
        found.setdefault((info["country_code"], info["party_id"]), info)
    return list(found.values())
