"""The delivery worker inside a running app (``ocpi serve``, ``get_application``)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .worker import OutboxWorker


def attach(app: Any) -> OutboxWorker:
    """Deliver while the app runs; writes in this process wake the worker at once."""
    node = app.state.node
    party = (node.country_code.upper(), node.party_id.upper()) \
        if node.country_code and node.party_id else None
    worker = OutboxWorker(node.db, from_party=party)
    node.crud.on_publish.append(worker.wake)
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with previous(a) as state:
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop), name="outbox-worker")
            try:
                yield state
            finally:
                stop.set()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    app.state.outbox = worker
    return worker
