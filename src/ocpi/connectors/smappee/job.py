"""The periodic Smappee sync inside ``ocpi serve``."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

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

    async def loop() -> None:
        while True:
            try:
                result = await sync.run_once()
                if result.created or result.updated:
                    log.info("Smappee sync: %s", result.as_dict())
            except asyncio.CancelledError:
                raise
            except Exception:  # keep syncing; the next round may succeed
                log.exception("Smappee sync round failed")
            await asyncio.sleep(config.interval_seconds)

    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with previous(a) as state:
            task = asyncio.create_task(loop(), name="smappee-sync")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return config.interval_seconds
