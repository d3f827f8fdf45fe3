"""A partner's receiving endpoints on a raw HTTP server that misbehaves on schedule.

It is the other side of the wire for outbox tests: it applies PUTs and PATCHes
as a receiver would, records the state of each object after every accepted
request, and, by a seeded schedule, answers 500, stalls past the client's
timeout, resets the connection, or goes down for a while. A timeout or reset
may come *after* the request was applied (a lost answer), which is where an
at-least-once sender sends a duplicate.
"""

import asyncio
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chaos:
    """Probabilities per request; the rest are answered at once."""

    seed: int = 1
    error500: float = 0.0
    timeout: float = 0.0
    reset: float = 0.0
    down: float = 0.0
    stall: float = 1.0  # seconds a timeout stalls (longer than the client waits)
    down_for: float = 0.3
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> str:
        x = self.rng.random()
        for name in ("error500", "timeout", "reset", "down"):
            p = getattr(self, name)
            if x < p:
                return name
            x -= p
        return "ok"


@dataclass
class Received:
    method: str
    path: str
    body: Any
    correlation_id: str | None
    headers: dict[str, str]


class Receiver:
    """``with Receiver(chaos) as r: ... r.url``; objects keyed by their URL path."""

    def __init__(self, chaos: Chaos | None = None,
                 refuse: Callable[[str, str, Any], Any] | None = None) -> None:
        self.chaos = chaos or Chaos()
        self.refuse = refuse
        self.accepted: list[Received] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, int] = {}
        # every request that arrived, answered or not: (method, path, X-Correlation-ID,
        # X-Request-ID)
        self.requests: list[tuple[str, str, str | None, str | None]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> "Receiver":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(5)
        self.url = f"http://127.0.0.1:{self._port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:  # open connections end here, not after the loop is gone
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port,
                                                  reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _go_down(self) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.sleep(self.chaos.down_for)
        await self._open()

    # --- HTTP ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in
                           (line.split(":", 1) for line in lines[1:] if ":" in line)}
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._handle(method, path, raw, headers, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    def _abort(self, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # RST, not FIN: a reset connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _handle(self, method: str, path: str, raw: bytes, headers: dict[str, str],
                      writer: asyncio.StreamWriter) -> bool:
        self.requests.append((method, path, headers.get("x-correlation-id"),
                              headers.get("x-request-id")))
        with self._lock:
            action = self.chaos.draw()
            applies_first = self.chaos.rng.random() < 0.5
        self.events[action] = self.events.get(action, 0) + 1
        if action == "error500":
            await self._reply(writer, 500, {"status_code": 3000, "status_message": "boom"})
            return True
        if action == "down":
            self._abort(writer)
            await self._go_down()
            return False
        body = json.loads(raw) if raw else None
        if action in ("timeout", "reset"):
            if applies_first:
                self._apply(method, path, body, headers)  # and the answer is lost
            if action == "timeout":
                await asyncio.sleep(self.chaos.stall)
            self._abort(writer)
            return False
        refusal = self.refuse(method, path, body) if self.refuse is not None else None
        if refusal:  # True: 400/2001; or an (HTTP status, OCPI status) of the test's choice
            http, code = (400, 2001) if refusal is True else refusal
            await self._reply(writer, http, {"status_code": code,
                                             "status_message": "refused by the test"})
            return True
        code = self._apply(method, path, body, headers)
        if code is None:
            await self._reply(writer, 404, {"status_code": 2003,
                                            "status_message": "unknown object"})
        else:
            await self._reply(writer, 200, {"status_code": 1000, "status_message": "ok"})
        return True

    async def _reply(self, writer: asyncio.StreamWriter, status: int, payload: dict) -> None:
        payload = {**payload, "timestamp": "2026-01-01T00:00:00Z"}
        data = json.dumps(payload).encode()
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        await writer.drain()

    # --- receiving -----------------------------------------------------------------

    def _apply(self, method: str, path: str, body: Any, headers: dict[str, str]) -> int | None:
        """PUT replaces, PATCH merges (at the object, EVSE or Connector the URL names)."""
        parts = path.rstrip("/").split("/")
        module = next((m for m in ("locations", "sessions") if m in parts), None)
        i = parts.index(module) if module else len(parts)
        key = "/".join(parts[: i + 4])  # .../module/cc/pid/id
        sub = parts[i + 4:]
        with self._lock:
            current = self.objects.get(key)
            if method == "PUT" and not sub:
                new = dict(body)
            elif current is None:
                return None
            else:
                new = json.loads(json.dumps(current))
                target = new
                for uid, list_name, id_field in zip(sub, ("evses", "connectors"),
                                                    ("uid", "id"), strict=False):
                    target = next(x for x in target[list_name] if str(x[id_field]) == uid)
                target.update(body) if method == "PATCH" else (target.clear(),
                                                               target.update(body))
            self.objects[key] = new
            self.history.setdefault(key, []).append(new)
            self.accepted.append(Received(method, path, body, headers.get("x-correlation-id"),
                                          headers))
        return 200

    def wait_for(self, done: Callable[["Receiver"], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError("the receiver did not get what was expected in time")
            time.sleep(0.02)


# What the seed tutorials' library (elumobility/ocpi-python, 2.2.1) requires of an object
# although the specification makes it optional: the key, with null for "none" (a missing
# key is refused), and a list where it has one (a null list is refused). As observed
# against the library itself; its two "lists" typed as one object take null.
SEED_KEYS = {
    "location": ("name", "postal_code", "state", "parking_type", "operator", "suboperator",
                 "owner", "opening_times", "charging_when_closed", "energy_mix"),
    "evse": ("evse_id", "status_schedule", "floor_level", "coordinates", "physical_reference"),
    "connector": ("max_electric_power", "terms_and_conditions"),
    "business_details": ("website", "logo"),
    "session": ("end_date_time", "authorization_reference", "meter_id", "total_cost"),
    "charging_period": ("tariff_id",),
}
SEED_LISTS = {
    "location": ("publish_allowed_to", "related_locations", "evses", "directions",
                 "facilities", "images"),
    "evse": ("capabilities", "directions", "parking_restrictions", "images"),
    "connector": ("tariff_ids",),
    "session": ("charging_periods",),
}
_SEED_NESTED = {
    "location": {"evses": "evse", "operator": "business_details",
                 "suboperator": "business_details", "owner": "business_details"},
    "evse": {"connectors": "connector"},
    "session": {"charging_periods": "charging_period"},
}


def seed_problems(kind: str, obj: Any, whole: bool = True) -> list[str]:
    """Why that library would refuse ``obj`` (a PATCH, not ``whole``, may leave keys out;
    the objects it carries may not)."""
    if not isinstance(obj, dict):
        return []
    problems = [f"{kind}.{k}: Field required" for k in SEED_KEYS.get(kind, ())
                if whole and k not in obj]
    problems += [f"{kind}.{k}: Input should be a valid list" for k in SEED_LISTS.get(kind, ())
                 if k in obj and not isinstance(obj[k], list)]
    for key, sub in _SEED_NESTED.get(kind, {}).items():
        value = obj.get(key)
        for item in value if isinstance(value, list) else [value]:
            problems += seed_problems(sub, item)
    return problems


def seed_library(method: str, path: str, body: Any) -> tuple[int, int] | None:
    """A ``Receiver`` ``refuse`` that judges PUTs and PATCHes as that library does."""
    parts = path.rstrip("/").split("/")
    module = "sessions" if "sessions" in parts else "locations"
    depth = len(parts) - parts.index(module) - 1  # cc, pid, id[, evse_uid[, connector_id]]
    kind = "session" if module == "sessions" else ("location", "evse", "connector")[depth - 3]
    return (200, 2001) if seed_problems(kind, body, whole=method == "PUT") else None
