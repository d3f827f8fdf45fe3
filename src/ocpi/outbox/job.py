"""The delivery worker inside a running app (``ocpi serve``, ``get_application``)."""

from typing import Any

from ..core.lifespan import serve_alongside
from .worker import OutboxWorker


def attach(app: Any) -> OutboxWorker:
    """Deliver while the app runs; writes in this process wake the worker at once."""
    node = app.state.node
    party = (node.country_code.upper(), node.party_id.upper()) \
        if node.country_code and node.party_id else None
    worker = OutboxWorker(node.db, from_party=party)
    node.crud.on_publish.append(worker.wake)
    serve_alongside(app, "outbox-worker", worker.run)
    app.state.outbox = worker
    return worker
