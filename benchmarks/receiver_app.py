"""A partner that accepts every PUT/PATCH at once: the far end of the benchmark.

Run as its own process (``python -m uvicorn receiver_app:app``) so it does not
share the interpreter with the node being measured. It notes when each message
arrived (``time.time()``, comparable across processes on one machine).
"""

import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

app = FastAPI()
arrivals: dict[str, float] = {}
OK = b'{"status_code":1000,"status_message":"ok","timestamp":"2026-01-01T00:00:00Z"}'


@app.api_route("/ocpi/{path:path}", methods=["PUT", "PATCH"])
async def receive(path: str, request: Request) -> Response:
    await request.body()
    arrivals.setdefault(path.rsplit("/", 1)[-1], time.time())
    return Response(OK, media_type="application/json")


@app.get("/arrivals")
async def seen() -> JSONResponse:
    return JSONResponse(arrivals)


@app.delete("/arrivals")
async def reset() -> JSONResponse:
    arrivals.clear()
    return JSONResponse({})
