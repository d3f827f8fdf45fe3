"""Smappee's cloud API: OAuth2 password grant, refresh, and park sessions.

Access tokens last 10 hours and every refresh hands out a new refresh token,
so the latest refresh token is persisted (``TokenStore``) as soon as it
arrives: a restart must not fall back to the password grant, and a lost
refresh token would. Secrets are never put in messages or logs.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ...core import jsonutil
from .config import SmappeeConfig

log = logging.getLogger("ocpi.smappee")
REFRESH_MARGIN = 300.0  # refresh this many seconds before the access token expires


class SmappeeError(Exception):
    """Smappee could not be used; the message names the call, never a secret."""


@dataclass
class Tokens:
    access: str = field(repr=False)
    refresh: str = field(repr=False)
    expires_at: float  # time.time()


LoadRefresh = Callable[[], Awaitable[str | None]]
SaveRefresh = Callable[[str], Awaitable[None]]


class SmappeeClient:
    """One account on one Smappee API. Use as ``async with SmappeeClient(...)``."""

    def __init__(self, config: SmappeeConfig, *, load_refresh: LoadRefresh | None = None,
                 save_refresh: SaveRefresh | None = None, max_attempts: int = 5,
                 max_wait: float = 60.0) -> None:
        self.config = config
        self._load_refresh = load_refresh
        self._save_refresh = save_refresh
        self._tokens: Tokens | None = None
        self._http: httpx.AsyncClient | None = None
        self.max_attempts = max_attempts
        self.max_wait = max_wait

    async def __aenter__(self) -> "SmappeeClient":
        self._http = httpx.AsyncClient(timeout=self.config.timeout)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- tokens ------------------------------------------------------------------

    async def _grant(self, form: dict[str, str], what: str) -> Tokens:
        assert self._http is not None
        form = {"client_id": self.config.client_id, "client_secret": self.config.client_secret,
                **form}
        response = await self._send("POST", self.config.token_url, what, data=form)
        if response.status_code != 200:
            raise SmappeeError(f"{what}: HTTP {response.status_code}")
        try:
            body = jsonutil.loads(response.content)
            tokens = Tokens(str(body["access_token"]), str(body["refresh_token"]),
                            time.time() + float(body.get("expires_in", 36000)))
        except (ValueError, KeyError, TypeError):
            raise SmappeeError(f"{what}: the answer has no access_token/refresh_token") from None
        if self._save_refresh is not None:
            await self._save_refresh(tokens.refresh)
        return tokens

    async def _password_grant(self) -> Tokens:
        return await self._grant({"grant_type": "password", "username": self.config.username,
                                  "password": self.config.password}, "token (password grant)")

    async def _refresh_grant(self, refresh: str) -> Tokens:
        return await self._grant({"grant_type": "refresh_token", "refresh_token": refresh},
                                 "token refresh")

    async def _access_token(self, *, force_refresh: bool = False) -> str:
        tokens = self._tokens
        if tokens is None or force_refresh or time.time() > tokens.expires_at - REFRESH_MARGIN:
            refresh = tokens.refresh if tokens else None
            if refresh is None and self._load_refresh is not None:
                refresh = await self._load_refresh()
            self._tokens = None
            if refresh:
                try:
                    self._tokens = await self._refresh_grant(refresh)
                except SmappeeError as exc:
                    # a refresh token Smappee no longer knows (another process used it?)
                    log.warning("Smappee refresh failed (%s); logging in again", exc)
                    self._tokens = None
            if self._tokens is None:
                self._tokens = await self._password_grant()
        return self._tokens.access

    # --- calls ---------------------------------------------------------------------

    async def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send, waiting out 429 and 5xx (``Retry-After`` honoured, capped)."""
        assert self._http is not None
        delay = 1.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TimeoutException:
                error = "no answer (timeout)"
            except httpx.HTTPError as exc:
                error = f"cannot connect: {exc}"
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                error = f"HTTP {response.status_code}"
                retry_after = _retry_after(response.headers.get("retry-after"))
                if retry_after is not None:
                    if retry_after > self.max_wait:
                        raise SmappeeError(f"{what}: {error}, asked to wait {retry_after:.0f}s; "
                                           "the next round tries again")
                    delay = retry_after
            if attempt == self.max_attempts:
                raise SmappeeError(f"{what}: {error} after {attempt} attempts")
            await asyncio.sleep(min(delay, self.max_wait))
            delay = min(delay * 2, self.max_wait)
        raise AssertionError("unreachable")

    async def sessions(self, service_location_id: int | str, start_ms: int,
                       end_ms: int | None = None, *, active: bool = False
                       ) -> list[dict[str, Any]]:
        """Sessions of a park that *started* in ``[start_ms, end_ms)``.

        ``active`` False: completed sessions only (Smappee's default); True:
        those still going. The answer may be a list or a single object.
        """
        url = f"{self.config.base_url.rstrip('/')}/v3/chargingparks/{service_location_id}/sessions"
        params = {"range": f"{start_ms},{end_ms}" if end_ms is not None else str(start_ms),
                  "active": "true" if active else "false"}
        what = f"GET chargingparks/{service_location_id}/sessions"
        for attempt in (1, 2):
            token = await self._access_token(force_refresh=attempt == 2)
            response = await self._send("GET", url, what, params=params,
                                        headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 401:
                break
        if response.status_code != 200:
            raise SmappeeError(f"{what}: HTTP {response.status_code}")
        try:
            data = jsonutil.loads(response.content) if response.content.strip() else []
        except ValueError:
            raise SmappeeError(f"{what}: the answer is not JSON") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise SmappeeError(f"{what}: expected a list of sessions")
        return [s for s in data if isinstance(s, dict)]


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait: ``Retry-After`` is a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
