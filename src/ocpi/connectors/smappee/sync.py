"""Bring the node's sessions in line with Smappee's parks (``ocpi smappee sync``).

Smappee filters sessions on their *start*. Active sessions are asked for with
a window reaching back ``active_window_days`` (and further, to the start of
any session we still hold as active, so a session longer than the window is
never lost); completed ones from the last successful sync minus an overlap
(and as far back as those active sessions). A session completes when it
shows up in the completed list. A session is written only when its content
changed, so a second sync writes nothing.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, select

from ...core import jsonutil
from ...core.datetime import format_datetime, parse_datetime, utcnow
from ...core.enums import ModuleID, RoleEnum
from ...store import settings as node_state
from ...store.schema import sessions as sessions_table
from ...store.sql_store import SqlStore
from .client import SmappeeClient
from .config import SmappeeConfig
from .mapping import UnmappedStation, same_content, session_id, to_session

log = logging.getLogger("ocpi.smappee")
REFRESH_KEY = "smappee.refresh_token"
Authorizations = Callable[[str, str], Awaitable[dict[str, Any] | None]]


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmapped: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (session id, status), in order

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "unmapped": sorted(set(self.unmapped))}


def _ms(text: str) -> int:
    return int(parse_datetime(text).timestamp() * 1000)


class SmappeeSync:
    def __init__(self, store: SqlStore, config: SmappeeConfig, owner: tuple[str, str], *,
                 authorizations: Authorizations | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.config = config
        self.owner = (owner[0].upper(), owner[1].upper())
        self.authorizations = authorizations
        self.clock = clock

    def client(self) -> SmappeeClient:
        db = self.store.db

        async def load() -> str | None:
            value = await node_state.get_value(db, REFRESH_KEY)
            return str(value) if value else None

        async def save(token: str) -> None:
            await node_state.set_value(db, REFRESH_KEY, token)

        return SmappeeClient(self.config, load_refresh=load, save_refresh=save)

    async def run_once(self) -> SyncResult:
        result = SyncResult()
        async with self.client() as client:
            for park in self.config.service_locations:
                await self._park(client, park, result)
        if result.unmapped:
            log.error("Smappee sessions on unmapped stations were skipped: %s",
                      ", ".join(sorted(set(result.unmapped))))
        return result

    async def _still_active(self, park: str) -> list[dict[str, Any]]:
        t = sessions_table
        prefix = session_id(park, "").casefold()
        stmt = select(t.c.data).where(and_(
            t.c.role == RoleEnum.cpo.value, t.c.id.like(prefix + "%"),
            t.c.status.in_(("PENDING", "ACTIVE"))))
        async with self.store.db.begin() as tx:
            return [jsonutil.loads(r[0]) for r in (await tx.execute(stmt)).all()]

    async def _park(self, client: SmappeeClient, park: str, result: SyncResult) -> None:
        now_ms = int(self.clock() * 1000)
        held = await self._still_active(park)
        oldest_held = min((_ms(s["start_date_time"]) for s in held), default=now_ms)
        active_from = min(now_ms - int(self.config.active_window_days * 86_400_000), oldest_held)
        cursor_key = f"smappee.synced.{park}"
        synced = await node_state.get_value(self.store.db, cursor_key)
        completed_from = active_from if synced is None else min(
            int(synced) - int(self.config.overlap_seconds * 1000), oldest_held)

        active = await client.sessions(park, active_from, active=True)
        completed = await client.sessions(park, completed_from, active=False)
        latest: dict[str, dict[str, Any]] = {}
        for raw in active + completed:  # completed last: it wins for a session in both
            if raw.get("id") is not None:
                latest[str(raw["id"])] = raw
        for raw in sorted(latest.values(), key=lambda r: (int(r.get("from") or 0), str(r["id"]))):
            await self._apply(park, raw, result)
        await node_state.set_value(self.store.db, cursor_key, now_ms)

    async def _apply(self, park: str, raw: dict[str, Any], result: SyncResult) -> None:
        sid = session_id(park, raw["id"])
        cc, pid = self.owner
        previous = await self.store.get(ModuleID.sessions, RoleEnum.cpo, sid, country_code=cc,
                                        party_id=pid)
        auth = None
        if self.authorizations is not None and raw.get("rfid"):
            auth = await self.authorizations(str(raw["rfid"]), str(raw.get("from") or ""))
        try:
            session = to_session(raw, park, self.config, self.owner, previous, auth)
        except UnmappedStation as exc:
            result.unmapped.append(str(exc.serial))
            return
        if previous is not None and same_content(previous, session):
            result.unchanged += 1
            return
        stamp = utcnow()
        if previous is not None:
            # strictly later than what partners already have, even on a coarse clock
            stamp = max(stamp, parse_datetime(previous["last_updated"]) + timedelta(
                milliseconds=1))
        session["last_updated"] = format_datetime(stamp)
        kw = {"country_code": cc, "party_id": pid}
        if previous is None:
            await self.store.create(ModuleID.sessions, RoleEnum.cpo, session, **kw)
            result.created += 1
        else:
            await self.store.update(ModuleID.sessions, RoleEnum.cpo, session, sid, **kw)
            result.updated += 1
        result.changed.append((sid, session["status"]))
