"""Background work that lives as long as the app serves: the outbox worker, the
Smappee sync, the commands' timeout sweeper. Each is one task started in the app's
lifespan (after the lifespans set before it) and cancelled at shutdown."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from .db_health import HEALTH


def serve_alongside(app: Any, name: str, task: Callable[[], Coroutine[Any, Any, Any]], *,
                    before: Callable[[], Awaitable[Any]] | None = None) -> None:
    """Run ``task()`` while ``app`` serves; ``before()`` is awaited first, before the
    app takes requests (what must be done by then, e.g. what expired while down)."""
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with previous(a) as state:
            if before is not None:
                await before()
            running = asyncio.create_task(task(), name=name)
            try:
                yield state
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    app.router.lifespan_context = lifespan


def every(seconds: float, work: Callable[[], Awaitable[Any]], log: logging.Logger,
          what: str, *, wait_first: bool = False) -> Callable[[], Coroutine[Any, Any, None]]:
    """A loop running ``work()`` every ``seconds``: a failed round is logged and the
    next one tries again."""
    async def loop() -> None:
        if wait_first:
            await asyncio.sleep(seconds)
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not HEALTH.failed_in_background(exc):
                    log.exception("%s failed", what)
            await asyncio.sleep(seconds)

    return loop
