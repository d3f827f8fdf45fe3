"""``GET /metrics``: the node's figures for Prometheus, with the operator token.

Partner names are operational data, so the endpoint is not public: point
Prometheus at it with ``authorization: {type: Token, credentials: <operator token>}``.
"""

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

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
        if node.db is None:
            return Response("", media_type=CONTENT_TYPE)
        worker = getattr(request.app.state, "outbox", None)
        text = await outbox_metrics.render(node.db, worker.counters if worker else None)
        return Response(text, media_type=CONTENT_TYPE)

    return metrics
