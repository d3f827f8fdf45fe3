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

from ...core.datetime import format_datetime, parse_datetime, utcnow
from ...core.enums import ModuleID, RoleEnum
from ...store import settings as node_state
from ...store.sql_store import SqlStore
from .client import SmappeeClient, SmappeeError
from .config import SmappeeConfig
from .mapping import (
    UnmappedStation,
    epoch_ms,
    ms_to_text,
    same_content,
    session_id,
    smappee_start_ms,
    to_session,
)

log = logging.getLogger("ocpi.smappee")
REFRESH_KEY = "smappee.refresh_token"
Authorizations = Callable[[str, str], Awaitable[dict[str, Any] | None]]


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmapped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # malformed sessions, failed parks
    changed: list[tuple[str, str]] = field(default_factory=list)  # (session id, status), in order

    @property
    def ok(self) -> bool:
        return not self.unmapped and not self.problems

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"created": self.created, "updated": self.updated,
                               "unchanged": self.unchanged,
                               "unmapped": sorted(set(self.unmapped))}
        if self.problems:
            out["problems"] = self.problems[:20]
        return out


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
        self._client: SmappeeClient | None = None

    def client(self) -> SmappeeClient:
        """One client for the life of this sync: its access token serves many rounds
        (a refresh per round would rotate the refresh token needlessly)."""
        if self._client is None:
            db = self.store.db

            async def load() -> str | None:
                value = await node_state.get_value(db, REFRESH_KEY)
                return str(value) if value else None

            async def save(token: str) -> None:
                await node_state.set_value(db, REFRESH_KEY, token)

            self._client = SmappeeClient(self.config, load_refresh=load, save_refresh=save)
        return self._client

    async def run_once(self) -> SyncResult:
        """One round over every park; a failing park is reported and the others go on."""
        result = SyncResult()
        async with self.client() as client:
            for park in self.config.service_locations:
                try:
                    await self._park(client, park, result)
                except SmappeeError as exc:
                    result.problems.append(f"park {park}: {exc}")
        if result.unmapped:
            log.error("Smappee sessions on unmapped stations were skipped: %s",
                      ", ".join(sorted(set(result.unmapped))))
        for problem in result.problems:
            log.error("Smappee sync: %s", problem)
        return result

    async def _still_active(self, park: str) -> list[dict[str, Any]]:
        return await self.store.find_sessions(RoleEnum.cpo, id_prefix=session_id(park, ""),
                                              statuses=("PENDING", "ACTIVE"), owner=self.owner)

    async def _park(self, client: SmappeeClient, park: str, result: SyncResult) -> None:
        now_ms = int(self.clock() * 1000)
        held = await self._still_active(park)
        # Smappee's own start, not ours: a session that turned ACTIVE starts later for
        # OCPI, and a window from there would no longer reach it
        oldest_held = min((smappee_start_ms(s) or _ms(s["start_date_time"]) for s in held),
                          default=now_ms)
        active_from = min(now_ms - int(self.config.active_window_days * 86_400_000), oldest_held)
        cursor_key = f"smappee.synced.{park}"
        synced = await node_state.get_value(self.store.db, cursor_key)
        completed_from = active_from if synced is None else min(
            int(synced) - int(self.config.overlap_seconds * 1000), oldest_held)

        active = await client.sessions(park, active_from, active=True)
        completed = await client.sessions(park, completed_from, active=False)
        latest: dict[str, tuple[dict[str, Any], bool]] = {}
        for raw in active:
            if raw.get("id") is not None:
                latest[str(raw["id"])] = (raw, False)
        for raw in completed:  # the completed list wins for a session in both
            if raw.get("id") is not None:
                latest[str(raw["id"])] = (raw, True)
        seen_at = ms_to_text(now_ms)
        held_back: list[int] = []
        for raw, done in sorted(latest.values(),
                                key=lambda e: (epoch_ms(e[0].get("from")) or 0, str(e[0]["id"]))):
            if not await self._apply(park, raw, done, seen_at, result):
                held_back.append(epoch_ms(raw.get("from")) or now_ms)
        # a skipped session (unmapped station) is asked for again once it is mapped
        cursor = min([now_ms, *(t + int(self.config.overlap_seconds * 1000) for t in held_back)])
        await node_state.set_value(self.store.db, cursor_key, cursor)

    async def _apply(self, park: str, raw: dict[str, Any], completed: bool, seen_at: str | None,
                     result: SyncResult) -> bool:
        """Store one session if it changed; False when it had to be skipped."""
        sid = session_id(park, raw["id"])
        cc, pid = self.owner
        previous = await self.store.get(ModuleID.sessions, RoleEnum.cpo, sid, country_code=cc,
                                        party_id=pid)
        auth = None
        if self.authorizations is not None and raw.get("rfid"):
            auth = await self.authorizations(str(raw["rfid"]), str(raw.get("from") or ""))
        try:
            session = to_session(raw, park, self.config, self.owner, previous, auth,
                                 completed=completed, seen_at=seen_at)
        except UnmappedStation as exc:
            result.unmapped.append(str(exc.serial))
            return False
        except ValueError as exc:
            result.problems.append(f"park {park}: {exc}")
            return False
        if previous is not None and same_content(previous, session):
            result.unchanged += 1
            return True
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
        return True
