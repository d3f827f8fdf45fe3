"""``GET /metrics``: the node's figures for Prometheus, with the operator token.

Partner names are operational data, so the endpoint is not public: point
Prometheus at it with ``authorization: {type: Token, credentials: <operator token>}``.
"""

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .core import db_health
from .core.errors import OcpiError
from .core.transport import authenticate_operator, error_response, internal_error
from .outbox import metrics as outbox_metrics

if TYPE_CHECKING:
    from .node import Node

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def make_endpoint(node: "Node") -> Any:
    async def metrics(request: Request) -> Response:
        try:
            await authenticate_operator(node, request, "/metrics")
        except OcpiError as exc:
            return error_response(exc)
        except Exception:
            return internal_error(request)
        health = "\n".join(db_health.HEALTH.metrics()) + "\n"
        if node.db is None:
            return Response(health, media_type=CONTENT_TYPE)
        worker = getattr(request.app.state, "outbox", None)
        try:
            text = await outbox_metrics.render(node.db, worker.counters if worker else None)
        except Exception as exc:
            if not db_health.is_unavailable(exc):
                return internal_error(request, node)
            db_health.HEALTH.refused(exc, node.db.ping)  # the database's own figures
            text = ""  # wait for it; ours say it is down
            health = "\n".join(db_health.HEALTH.metrics()) + "\n"
        return Response(health + text, media_type=CONTENT_TYPE)

    return metrics
