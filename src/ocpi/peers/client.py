"""The OCPI HTTP client: every call the node makes to a partner goes through it.

One place decides the ``Authorization`` encoding for the negotiated version
and the partner's quirks, adds ``X-Request-ID``/``X-Correlation-ID`` and hub
routing headers, checks the URL, follows ``Link`` pagination and turns every
failure into a ``PartnerError`` that names the partner and the endpoint (and
never the token).
"""

import asyncio
import base64
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .. import logs
from ..core import jsonutil
from ..core.enums import FUNCTIONAL_MODULES
from ..modules.versions.enums import is_v2_1
from .lean_http import LeanTransport, transport_for_partners
from .profile import Profile
from .urls import UnresolvableHost, UnsafeUrl, check_partner_url

if TYPE_CHECKING:
    from .registry import Peer

_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_REL_NEXT = re.compile(r';\s*rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)
MAX_PAGES = 100_000  # a partner whose Link never ends is cut off, not followed forever
Notice = Callable[[str], None]  # told when a list is fetched otherwise than the partner said


class PartnerError(Exception):
    """A call to a partner that did not give a usable OCPI answer."""

    def __init__(self, partner: str, method: str, url: str, reason: str, *,
                 http_status: int | None = None, status_code: int | None = None,
                 retryable: bool = True) -> None:
        super().__init__(f"{partner}: {method} {url}: {reason}")
        self.partner = partner
        self.reason = reason
        self.http_status = http_status
        self.status_code = status_code
        self.retryable = retryable


class _TooLarge(Exception):
    """A partner's answer beyond ``max_answer_bytes``."""


def max_answer_bytes() -> int:
    """The largest answer read from a partner (``OCPI_MAX_ANSWER_BYTES``, default 64 MiB:
    a page of a thousand full Locations is a few MB); beyond it the call fails, so a
    broken or hostile partner cannot make the node hold gigabytes."""
    try:
        return max(int(os.environ.get("OCPI_MAX_ANSWER_BYTES", "")), 1024)
    except ValueError:
        return 64 * 1024 * 1024


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The answer's body, read only up to ``limit`` bytes (its Content-Length, when it
    says more, is refused before anything is read)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"answer of {int(declared):,} bytes, over the {limit:,}-byte limit")
    parts, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"answer over the {limit:,}-byte limit")
        parts.append(chunk)
    return b"".join(parts)


@dataclass
class Answer:
    """A partner's OCPI answer (envelope unpacked)."""

    http_status: int
    status_code: int
    status_message: str | None
    data: Any
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.http_status < 300 and 1000 <= self.status_code < 2000

    def object(self) -> dict[str, Any] | None:
        """The single object answered; a one-element list is read as its object (some
        libraries wrap every answer in a list); None when there is no one object."""
        data = self.data
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        return data if isinstance(data, dict) else None

    def quoted(self, size: int = 200) -> str:
        """The answer's data as the partner sent it, cut for a message."""
        text = jsonutil.dumps(self.data).decode() if self.data is not None else "no data"
        return text if len(text) <= size else text[:size] + "..."


def encode_token(token: str, version: str, profile: Profile) -> str:
    """``Token <t>``: plain on 2.1.1 (and for partners that want it), base64 on 2.2+."""
    if is_v2_1(version) or profile.plain_token:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode()


def next_link(headers: httpx.Headers, base: str) -> str | None:
    """The ``rel="next"`` target, wherever ``rel`` sits, resolved against ``base``.

    ``ValueError`` when a Link speaks of a next page but cannot be read.
    """
    for value in headers.get_list("link"):
        found = _LINK.findall(value)
        if not found:  # garbage is no "last page": the count decides (offset paging)
            raise ValueError(f"cannot read Link {value[:120]!r}")
        for target, params in found:
            rel = _REL_NEXT.search(params)
            if rel and "next" in rel.group(1).lower().split():
                try:
                    return str(httpx.URL(base).join(target.strip()))
                except httpx.InvalidURL as exc:
                    raise ValueError(f"cannot read Link target {target[:120]!r}: {exc}"
                                     ) from None
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return u.scheme, u.host, u.port


def _unusable(link: str | None, start: str, seen: set[str]) -> str | None:
    """Why a next-page Link must not be followed, if it must not."""
    if link is None:
        return None
    there, here = _origin(link), _origin(start)
    if there[1] != here[1]:
        return f"it points to another host, {there[1]}; our token stays here"
    if there[0] != here[0]:
        return (f"it asks for {there[0]} where the list is served over {here[0]} (same "
                "host); our token stays on the address we were given")
    if there != here:
        return f"it points to another port, {there[2]}; our token stays here"
    if link in seen:
        return "it repeats a page already fetched"
    return None


def _total(headers: httpx.Headers, known: int | None) -> int | None:
    """``X-Total-Count`` when the answer carries a usable one, else what we knew."""
    value = headers.get("x-total-count", "").strip()
    return int(value) if value.isdigit() else known


@dataclass
class OcpiClient:
    """Calls one partner with one token. Use as ``async with OcpiClient(...) as c``."""

    partner: str
    token: str = field(repr=False)
    version: str
    profile: Profile = field(default_factory=Profile)
    from_party: tuple[str, str] | None = None  # ours, for routing headers
    to_party: tuple[str, str] | None = None  # the partner's (a hub's own party for a hub)
    retries: int = 2  # extra attempts for one page of a list
    retry_delay: float = 0.5
    _http: httpx.AsyncClient | None = None
    _lean: LeanTransport | None = None

    @classmethod
    def for_peer(cls, peer: "Peer", from_party: tuple[str, str] | None, *,
                 token: str | None = None, version: str | None = None,
                 **kwargs: Any) -> "OcpiClient":
        """A client for a registered partner: its token, version, profile and party.

        ``token``/``version`` override the stored ones (a handshake in flight).
        """
        token = token or peer.token_out
        if not token:
            raise ValueError(f"no token to call partner {peer.name} with")
        return cls(partner=peer.name, token=token, version=version or peer.version or "2.2.1",
                   profile=peer.profile, from_party=from_party,
                   to_party=(peer.country_code, peer.party_id), **kwargs)

    async def __aenter__(self) -> "OcpiClient":
        transport = transport_for_partners()
        self._http = httpx.AsyncClient(timeout=self.profile.effective_timeout(),
                                       follow_redirects=False, transport=transport)
        self._lean = transport if isinstance(transport, LeanTransport) else None
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
            self._lean = None

    def _routing(self, module: str | None) -> bool:
        """2.2+ requires routing headers on functional modules, never on configuration
        ones; 2.1.1 has none. The profile can force them on or off."""
        mode = self.profile.routing_headers
        if module not in FUNCTIONAL_MODULES or mode == "off":
            return False
        return mode == "on" or not is_v2_1(self.version)

    def headers(self, *, module: str | None = None, to_party: tuple[str, str] | None = None,
                correlation_id: str | None = None,
                from_party: tuple[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Authorization": encode_token(self.token, self.version, self.profile),
            "X-Request-ID": uuid.uuid4().hex,
            # within a request (or a handshake), its flow's: one grep follows both sides
            "X-Correlation-ID": correlation_id or logs.flow_correlation_id(uuid.uuid4().hex,
                                                                          longest=100),
            "Accept": "application/json",
        }
        if self.profile.connection_close:
            headers["Connection"] = "close"
        if self._routing(module):
            to = to_party or self.to_party
            sender = from_party or self.from_party
            if sender:
                headers["OCPI-from-country-code"], headers["OCPI-from-party-id"] = sender
            if to:
                headers["OCPI-to-country-code"], headers["OCPI-to-party-id"] = to
        return headers

    async def request(self, method: str, url: str, *, body: Any = None,
                      params: dict[str, Any] | None = None, module: str | None = None,
                      to_party: tuple[str, str] | None = None,
                      correlation_id: str | None = None,
                      from_party: tuple[str, str] | None = None) -> Answer:
        """One call; raises ``PartnerError`` unless the answer is an OCPI envelope."""
        if self._http is None:
            raise RuntimeError("use OcpiClient as an async context manager")
        try:
            target = await check_partner_url(url)
        except UnsafeUrl as exc:
            # a host that does not resolve may resolve again (DNS outage); a bad URL will not
            raise PartnerError(self.partner, method, url, str(exc),
                               retryable=isinstance(exc, UnresolvableHost)) from None
        headers = self.headers(module=module, to_party=to_party, correlation_id=correlation_id,
                               from_party=from_party)
        content = None
        if body is not None:
            content = jsonutil.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            request = self._http.build_request(method, target, content=content, params=params,
                                               headers=headers)
            response = await self._send(request)
            try:
                body = await _read_capped(response, max_answer_bytes())
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise PartnerError(self.partner, method, url, "no answer within "
                               f"{self.profile.effective_timeout():g}s (timeout)") from None
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise PartnerError(self.partner, method, url, f"cannot connect: {reason}") from None
        except _TooLarge as exc:  # the same answer would come again: not retried
            raise PartnerError(self.partner, method, url, str(exc),
                               http_status=response.status_code, retryable=False) from None
        return self._answer(method, url, response, body)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """The answer, streamed. On the lean transport the request goes to it directly:
        of httpx's client layers a partner call uses none (no auth flow, redirects are
        not followed, and a partner's cookies are not kept: OCPI calls carry a token),
        and they were a third of a call's CPU (docs/benchmarks.md)."""
        assert self._http is not None
        if self._lean is None:  # httpx's transport (a proxy): its jar is emptied the same
            try:
                return await self._http.send(request, stream=True)
            finally:
                self._http.cookies.clear()
        response = await self._lean.handle_async_request(request)
        response.request = request
        return response

    def _answer(self, method: str, url: str, response: httpx.Response, body: bytes
                ) -> Answer:
        status = response.status_code
        try:
            payload = jsonutil.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "status_code" not in payload:
            snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
            raise PartnerError(self.partner, method, url,
                               f"HTTP {status} without an OCPI envelope"
                               + (f" (body starts {snippet!r})" if snippet else ""),
                               http_status=status, retryable=status >= 500 or status == 429)
        try:
            code = int(payload["status_code"])
        except (TypeError, ValueError):
            raise PartnerError(self.partner, method, url,
                               f"status_code {payload['status_code']!r} is not a number",
                               http_status=status, retryable=status >= 500) from None
        return Answer(status, code, payload.get("status_message"), payload.get("data"),
                      response.headers)

    async def call(self, method: str, url: str, **kwargs: Any) -> Answer:
        """Like ``request`` but a refusal (non-2xx or non-1xxx) is a ``PartnerError`` too."""
        answer = await self.request(method, url, **kwargs)
        if not answer.ok:
            message = answer.status_message or "no message"
            raise PartnerError(
                self.partner, method, url,
                f"refused: HTTP {answer.http_status}, status_code {answer.status_code} "
                f"({message})", http_status=answer.http_status, status_code=answer.status_code,
                retryable=answer.http_status >= 500 or answer.http_status == 429
                or (answer.http_status < 400 and 3000 <= answer.status_code < 4000))
        return answer

    async def get_pages(self, url: str, *, params: dict[str, Any] | None = None,
                        module: str | None = None, notice: Notice | None = None
                        ) -> AsyncIterator[tuple[list[Any], int | None]]:
        """Yield ``(objects, total)`` per page, following ``Link`` to the end.

        A failing page is retried (``retries`` times, with backoff) before the
        error is raised; pages already yielded stay yielded. A ``Link`` that
        cannot be followed (unparseable, another host, a loop, or a URL that
        refuses) is not the end of the list: the rest is asked by ``offset`` on
        ``url`` up to ``X-Total-Count``, and ``notice`` is told why.
        """
        query = dict(params or {})
        if self.profile.page_limit:
            query["limit"] = self.profile.page_limit
        next_url: str | None = url
        next_params: dict[str, Any] | None = query
        seen: set[str] = set()
        received, total = 0, None
        by_offset = False  # the partner's Link was given up: offset paging on ``url``
        previous: list[Any] | None = None
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            try:
                answer = await self._page(next_url, next_params, module)
            except PartnerError as exc:
                if next_params is not None or exc.retryable:
                    raise  # our own request failed, or the partner is down: not the Link
                next_url, next_params = self._by_offset(url, query, received, total,
                                                        f"{exc.reason} at {next_url}", notice)
                by_offset = True
                continue
            data = answer.data if answer.data is not None else []
            if not isinstance(data, list):
                raise PartnerError(self.partner, "GET", next_url,
                                   "list endpoint answered data that is not a list",
                                   retryable=False)
            total = _total(answer.headers, total)
            if by_offset and data and data == previous:
                raise PartnerError(self.partner, "GET", next_url, "the partner ignores "
                                   "offset (the same page again)", retryable=False)
            previous = data
            received += len(data)
            yield data, total
            if by_offset:
                more = bool(data) and total is not None and received < total
                next_url, next_params = (url, {**query, "offset": received}) if more \
                    else (None, None)
                continue
            seen.add(next_url)
            try:
                link = next_link(answer.headers, next_url)
                problem = _unusable(link, url, seen)
            except ValueError as exc:
                link, problem = None, str(exc)
            if problem is None:
                # no Link is the end; so is a Link after an empty page (it would loop)
                next_url, next_params = (link, None) if data else (None, None)
            elif total is not None and received >= total:
                return  # nothing left that a working Link would have fetched
            else:
                next_url, next_params = self._by_offset(url, query, received, total,
                                                        problem, notice)
                by_offset = True
        raise PartnerError(self.partner, "GET", url, f"pagination does not end (more than "
                           f"{MAX_PAGES} pages)", retryable=False)

    def _by_offset(self, url: str, query: dict[str, Any], received: int, total: int | None,
                   problem: str, notice: Notice | None) -> tuple[str, dict[str, Any]]:
        """Where offset paging resumes after the partner's ``Link`` failed us."""
        if total is None:
            raise PartnerError(self.partner, "GET", url, f"the next-page Link is unusable "
                               f"({problem}) and there is no X-Total-Count to page by "
                               "offset instead", retryable=False)
        if notice is not None:
            notice(f"partner's Link header unusable ({problem}); paging by offset")
        return url, {**query, "offset": received}

    async def _page(self, url: str, params: dict[str, Any] | None, module: str | None
                    ) -> Answer:
        attempt = 0
        while True:
            try:
                return await self.call("GET", url, params=params, module=module)
            except PartnerError as exc:
                if not exc.retryable or attempt >= self.retries:
                    raise
                attempt += 1
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
