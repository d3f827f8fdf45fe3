"""The periodic Smappee sync inside ``ocpi serve``."""

import logging
from typing import Any

from ...core.lifespan import every, serve_alongside
from ...services.authorization import smappee_hook
from ...store.sql_store import SqlStore
from .config import SmappeeConfig
from .sync import SmappeeSync

log = logging.getLogger("ocpi.smappee")


def attach(app: Any, config_path: str, owner: tuple[str, str]) -> float:
    """Run the sync every ``interval_seconds`` while the app runs; returns the interval.

    The config is read now, so a broken one stops ``serve`` before it starts.
    """
    config = SmappeeConfig.load(config_path)
    node = app.state.node
    if node.db is None:
        raise ValueError("the Smappee connector needs the built-in store")
    # the app's own store: its writes wake the app's outbox worker
    store = node.crud if isinstance(node.crud, SqlStore) else SqlStore(node.db)
    # a card authorized in real time: its session carries the eMSP's reference
    sync = SmappeeSync(store, config, owner, authorizations=smappee_hook(node.db))

    async def sync_round() -> None:
        result = await sync.run_once()
        if result.created or result.updated:
            log.info("Smappee sync: %s", result.as_dict())

    serve_alongside(app, "smappee-sync",
                    every(config.interval_seconds, sync_round, log, "Smappee sync round"))
    return config.interval_seconds
