"""Shared set-up for outbox tests: a node's store, receiving partners, sessions."""

from typing import Any

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.peers.credentials import Party
from ocpi.peers.registry import Registry
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

CPO = ("NL", "OCP")


def worker(db: Database) -> OutboxWorker:
    """Our outbox worker with retries and polls short enough for a test."""
    return OutboxWorker(db, from_party=CPO, backoff=Backoff(base=0.01, cap=0.05),
                        poll_interval=0.05)


async def receiving_partner(db: Database, url: str, cc: str, pid: str, *, role: str = "EMSP",
                            version: str = "2.2.1", **profile: Any) -> int:
    """A registered partner whose receiver endpoints are at ``url``."""
    registry = Registry(db)
    peer, _ = await registry.add_peer(cc, pid, role, name=f"{cc}-{pid}".lower())
    side = "hub" if role == "HUB" else "emsp"
    endpoints = [{"identifier": m, "role": "RECEIVER", "url": f"{url}/ocpi/{side}/{version}/{m}"}
                 for m in ("locations", "sessions")]
    await registry.update_peer(peer.id, state="registered", version=version,
                               endpoints=endpoints, token_out=f"token-for-{pid}",
                               parties=[Party(role, cc, pid, {})])
    if profile:
        await registry.set_profile(peer.name, **profile)
    return peer.id


def session(n: int, *, kwh: float = 0.0, status: str = "ACTIVE", owner: tuple[str, str] =
            ("DE", "MSP"), second: int = 0, location_id: str = "LOC1") -> dict[str, Any]:
    return {
        "country_code": CPO[0], "party_id": CPO[1], "id": f"S{n:04d}",
        "start_date_time": "2026-11-20T10:00:00Z", "kwh": kwh,
        "cdr_token": {"country_code": owner[0], "party_id": owner[1], "uid": f"TOK{n}",
                      "type": "RFID", "contract_id": f"{owner[0]}{owner[1]}C{n:05d}"},
        "auth_method": "WHITELIST", "location_id": location_id, "evse_uid": "EVSE1",
        "connector_id": "1", "currency": "EUR", "status": status,
        "last_updated": f"2026-11-20T{10 + second // 3600:02d}:{second // 60 % 60:02d}:"
                        f"{second % 60:02d}Z",
    }


async def write(store: SqlStore, data: dict[str, Any], module: ModuleID = ModuleID.sessions
                ) -> None:
    """Create or update one of the node's own objects, as any source would."""
    kw = {"country_code": data["country_code"], "party_id": data["party_id"]}
    if await store.get(module, RoleEnum.cpo, data["id"], **kw) is None:
        await store.create(module, RoleEnum.cpo, data, **kw)
    else:
        assert await store.update(module, RoleEnum.cpo, data, data["id"], **kw) is not None
