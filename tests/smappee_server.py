"""A local Smappee: the documented token and park-sessions endpoints, for real HTTP.

Sessions come from a script of ``Scripted`` charging sessions evaluated at the
server's ``now_ms``, so a test can walk through a day and sync as it goes.
"""

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT = ("client-id", "client-secret")
USER = ("operator@example.com", "pa55word")


@dataclass
class Scripted:
    """One charging session: when it starts and stops, how fast it charges."""

    id: int
    serial: int
    start_ms: int
    end_ms: int | None
    rfid: str | None = "04AABBCC"
    start_reading: float = 1000.0
    kw: float = 11.0
    suspended: tuple[int, int] | None = None  # a pause (no energy) between these instants

    def reading(self, at_ms: int) -> float:
        until = min(at_ms, self.end_ms) if self.end_ms is not None else at_ms
        charging_ms = max(0, until - self.start_ms)
        if self.suspended:
            a, b = self.suspended
            charging_ms -= max(0, min(until, b) - a) if until > a else 0
        return round(self.start_reading + self.kw * charging_ms / 3_600_000, 3)

    def at(self, now_ms: int) -> dict[str, Any] | None:
        if now_ms < self.start_ms:
            return None
        done = self.end_ms is not None and now_ms >= self.end_ms
        if done:
            status = "STOPPED"
        elif now_ms < self.start_ms + 60_000:
            status = "INITIAL"
        elif self.suspended and self.suspended[0] <= now_ms < self.suspended[1]:
            status = "SUSPENDED"
        else:
            status = "CHARGING"
        out: dict[str, Any] = {"id": self.id, "serialNumber": self.serial,
                               "authenticationType": "RFID" if self.rfid else "NONE",
                               "from": self.start_ms, "status": status,
                               "startReading": self.start_reading,
                               "stopReading": self.reading(now_ms)}
        if self.rfid:
            out["rfid"] = self.rfid
        if done:
            out["to"] = self.end_ms
        return out


class SmappeeMock:
    def __init__(self, access_ttl: int = 36000) -> None:
        self.now_ms = 0
        self.parks: dict[str, list[Scripted]] = {}
        self.access_ttl = access_ttl
        self.access: dict[str, int] = {}  # access token -> expiry (server ms)
        self.refresh: set[str] = set()
        self.grants: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.throttle = 0  # answer this many session calls with 429 first
        self.retry_after = "1"
        self.single_object = False  # answer one session as an object, not a list
        self.app = Starlette(routes=[
            Route("/v1/oauth2/token", self.token, methods=["POST"]),
            Route("/v3/chargingparks/{park}/sessions", self.sessions),
        ])

    def expire_access_tokens(self) -> None:
        self.access = {t: self.now_ms - 1 for t in self.access}

    def _issue(self) -> JSONResponse:
        access, refresh = secrets.token_hex(8), secrets.token_hex(8)
        self.access[access] = self.now_ms + self.access_ttl * 1000
        self.refresh.add(refresh)
        return JSONResponse({"access_token": access, "refresh_token": refresh,
                             "expires_in": self.access_ttl})

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != CLIENT:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = form.get("grant_type")
        self.grants.append(str(grant))
        if grant == "password" and (form.get("username"), form.get("password")) == USER:
            return self._issue()
        if grant == "refresh_token" and form.get("refresh_token") in self.refresh:
            self.refresh.discard(str(form["refresh_token"]))  # rotated at every refresh
            return self._issue()
        return JSONResponse({"error": "invalid_grant"}, status_code=400)

    async def sessions(self, request: Request) -> Response:
        self.calls.append({"park": request.path_params["park"],
                           "query": dict(request.query_params)})
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        if self.access.get(token, -1) < self.now_ms:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.throttle > 0:
            self.throttle -= 1
            return Response("slow down", status_code=429,
                            headers={"Retry-After": self.retry_after})
        bounds = request.query_params.get("range", "").split(",")
        start = int(bounds[0])
        end = int(bounds[1]) if len(bounds) > 1 and bounds[1] else None
        active = request.query_params.get("active", "false") == "true"
        found = []
        for s in self.parks.get(request.path_params["park"], []):
            view = s.at(self.now_ms)
            if view is None or not (start <= s.start_ms and (end is None or s.start_ms < end)):
                continue
            if (view["status"] != "STOPPED") == active:
                found.append(view)
        if self.single_object and len(found) == 1:
            return JSONResponse(found[0])
        return JSONResponse(found)
