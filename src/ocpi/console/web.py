"""The console's frame: pages, their views and actions, login, errors, assets.

A page registers GET views (a full page or a fragment for a live region) and
POST actions. The frame wraps each one: no session, to the login page; an
action without its CSRF token or from another origin, refused; bad input, a 400
page; an exception, an HTML error page. A page's code therefore only reads
the store and renders.
"""

import base64
import contextlib
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .. import secret_key
from ..core import db_health
from ..node import Node
from . import fmt, forms, security
from .forms import BadInput

log = logging.getLogger("ocpi.console")

HERE = Path(__file__).resolve().parent
PREFIX = security.PATH
FLASH_SECONDS = 60


class ConsoleError(Exception):
    """An answer other than the page: shown as an HTML error page with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> ConsoleError:
    return ConsoleError(404, f"{what} was not found")


@dataclass
class Ctx:
    """One console request, as a page's view or action sees it."""

    request: Request
    node: Node
    page: "Page | None"
    session: security.Session | None
    console: "Console"
    params: dict[str, str] = field(default_factory=dict)  # query, or the posted form
    flash: tuple[str, str] | None = None  # (kind, message) from the action before

    @property
    def db(self) -> Any:
        return self.node.db

    @property
    def registry(self) -> Any:
        return self.node.registry

    @property
    def is_fragment(self) -> bool:
        """Asked by htmx for a live region, not by the browser for a page."""
        return self.request.headers.get("hx-request") == "true"

    # reading input (bounded; a wrong value is a 400 page)
    def text(self, name: str, default: str = "", max_length: int = forms.MAX_TEXT) -> str:
        return forms.text(self.params, name, default, max_length)

    def integer(self, name: str, default: int | None = None, *, lo: int = 0,
                hi: int = 2**62) -> int:
        return forms.integer(self.params, name, default, lo=lo, hi=hi)

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str:
        return forms.choice(self.params, name, options, default)

    def url(self, path: str = "", **query: Any) -> str:
        """A console URL: ``c.url("outbox")``, ``c.url("sessions", q="x")``."""
        out = f"{PREFIX}/{path}".rstrip("/") if path else PREFIX
        pairs = [f"{quote(k)}={quote(str(v))}" for k, v in query.items() if v not in (None, "")]
        return out + ("?" + "&".join(pairs) if pairs else "")

    # answering
    def render(self, template: str, http_status: int = 200, **values: Any) -> HTMLResponse:
        return self.console.render(self, template, http_status, **values)

    def done(self, message: str, to: str | None = None, kind: str = "ok") -> Response:
        """After an action: back to the page (or ``to``), the message shown once."""
        target = to or self.url(self.page.slug if self.page else "")
        response = RedirectResponse(target, status_code=303)
        signed = secret_key.current().sign(
            base64.urlsafe_b64encode(f"{kind}:{message[:500]}".encode()).decode())
        response.set_cookie(security.FLASH_COOKIE, signed, max_age=FLASH_SECONDS,
                            path=PREFIX, httponly=True, samesite="strict",
                            secure=security.is_tls(self.request))
        return response

    def failed(self, message: str, to: str | None = None) -> Response:
        return self.done(message, to, kind="error")


View = Callable[[Ctx], Awaitable[Response]]


@dataclass
class Page:
    """One section of the console: ``/console/<slug>`` and what lies below it.

    ``@page.view("")`` is the page itself; ``@page.view("live")`` a fragment at
    ``/console/<slug>/live``; ``@page.view("{uid}")`` takes a path parameter
    (in ``c.request.path_params``); ``@page.action("retry")`` handles a POST to
    ``/console/<slug>/retry``.
    """

    slug: str
    title: str
    nav: bool = True  # listed in the menu
    views: list[tuple[str, View]] = field(default_factory=list)
    actions: list[tuple[str, View]] = field(default_factory=list)

    def view(self, path: str) -> Callable[[View], View]:
        def register(fn: View) -> View:
            self.views.append((path, fn))
            return fn
        return register

    def action(self, path: str) -> Callable[[View], View]:
        def register(fn: View) -> View:
            self.actions.append((path, fn))
            return fn
        return register


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt.FILTERS)
    return env


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The assets, read once: a fixed set, so no path from a URL reaches the disk."""
    out = {}
    for f in (HERE / "static").iterdir():
        if f.is_file():
            kind = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            out[f.name] = (f.read_bytes(), kind)
    return out


class Console:
    def __init__(self, node: Node, pages: list[Page], operator_token: str | None) -> None:
        self.node = node
        self.pages = pages
        self.sessions = security.Sessions(operator_token)
        self.env = _environment()
        self.static = _static_files()
        self.state: dict[str, Any] = {}  # what pages keep between requests (e.g. pulls)

    # rendering
    def render(self, c: Ctx, template: str, http_status: int = 200, **values: Any
               ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            c=c, pages=[p for p in self.pages if p.nav], page=c.page,
            csrf=c.session.csrf if c.session else "", flash=c.flash, prefix=PREFIX,
            **values)
        return _html(html, http_status)

    def error_page(self, request: Request, status: int, message: str,
                   session: security.Session | None = None) -> HTMLResponse:
        c = Ctx(request, self.node, None, session, self)
        try:
            return self.render(c, "error.html", status, status=status, message=message)
        except Exception:  # the template itself failed: still HTML
            log.exception("console error page failed")
            return _html(f"<!doctype html><title>Error</title><p>{status}</p>", status)

    # the wrappers every view and action go through
    def _wrap(self, page: Page | None, fn: View, *, action: bool) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            session = None
            try:
                session = self.sessions.read(request)
                if session is None:
                    return self._to_login(request)
                c = Ctx(request, self.node, page, session, self)
                if action:
                    c.params = await forms.read_form(request)
                    if not security.same_origin(request) \
                            or not session.csrf_ok(c.params.get("csrf")):
                        return self.error_page(request, 403, "This form has expired or did "
                                               "not come from the console: reload the page "
                                               "and try again.", session)
                else:
                    c.params = forms.query(request)
                    c.flash = _take_flash(request)
                response = await fn(c)
                if c.flash is not None:
                    response.delete_cookie(security.FLASH_COOKIE, path=PREFIX)
                return response
            except BadInput as exc:
                return self.error_page(request, 400, str(exc), session)
            except ConsoleError as exc:
                return self.error_page(request, exc.status, exc.message, session)
            except Exception as exc:
                return self._unexpected(request, exc, session)
        return endpoint

    def _unexpected(self, request: Request, exc: Exception,
                    session: security.Session | None) -> Response:
        if db_health.is_unavailable(exc):
            return self.error_page(request, 503, "The database cannot be reached; the "
                                   "console will work again once it is back.", session)
        if isinstance(exc, secret_key.SecretKeyError):
            log.error("console: %s", exc)
            return self.error_page(request, 503, "The node's secret key is not usable; "
                                   "see the node's log.", session)
        log.exception("console: %s %s failed", request.method, request.url.path)
        return self.error_page(request, 500, "Something went wrong; the node's log has "
                               "the details.", session)

    def _to_login(self, request: Request) -> Response:
        if request.headers.get("hx-request") == "true":  # a live region: the whole page goes
            return Response(status_code=204, headers={"HX-Redirect": f"{PREFIX}/login"})
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    # login and logout: the only views without a session
    async def login_form(self, request: Request) -> Response:
        try:
            if self.sessions.read(request) is not None:
                return RedirectResponse(self._home(), status_code=303)
            return self._login_page(request, None, 200)
        except Exception as exc:
            return self._unexpected(request, exc, None)

    def _login_page(self, request: Request, message: str | None, status: int) -> Response:
        c = Ctx(request, self.node, None, None, self)
        return self.render(c, "login.html", status, message=message,
                           enabled=self.sessions.enabled)

    async def login(self, request: Request) -> Response:
        try:
            if not security.same_origin(request):
                return self.error_page(request, 403, "This login did not come from the "
                                       "console's own page.")
            token = forms.text(await forms.read_form(request), "token", max_length=512)
            if self.sessions.throttled():
                return self._login_page(request, "Too many wrong tokens were tried: wait a "
                                        "minute and try again.", 429)
            if not self.sessions.is_operator(token):
                self.sessions.failed()
                log.warning("console: a login with a wrong token was refused")
                return self._login_page(request, "That is not the operator token.", 401)
            response = RedirectResponse(self._home(), status_code=303)
            security.set_session_cookie(response, request, self.sessions.open())
            return response
        except BadInput as exc:
            return self.error_page(request, 400, str(exc))
        except Exception as exc:
            return self._unexpected(request, exc, None)

    async def logout(self, request: Request) -> Response:
        session = None
        try:
            session = self.sessions.read(request)
            if session is not None:
                form = await forms.read_form(request)
                if not security.same_origin(request) or not session.csrf_ok(form.get("csrf")):
                    return self.error_page(request, 403, "This form did not come from the "
                                           "console.", session)
                self.sessions.end(session)
            response = RedirectResponse(f"{PREFIX}/login", status_code=303)
            security.clear_session_cookie(response, request)
            return response
        except BadInput as exc:
            return self.error_page(request, 400, str(exc), session)
        except Exception as exc:
            return self._unexpected(request, exc, session)

    def _home(self) -> str:
        return f"{PREFIX}/{self.pages[0].slug}" if self.pages else f"{PREFIX}/login"

    async def home(self, request: Request) -> Response:
        return RedirectResponse(self._home(), status_code=303)

    async def asset(self, request: Request) -> Response:
        found = self.static.get(request.path_params.get("name", ""))
        if found is None:
            return await self.nowhere(request)
        body, kind = found
        return Response(body, media_type=kind, headers={
            **security.HEADERS, "Cache-Control": "public, max-age=3600"})

    async def nowhere(self, request: Request) -> Response:
        """Anything else below /console: an HTML 404, not the API's envelope."""
        session = None
        with contextlib.suppress(Exception):  # a key problem: the 404 stands, without menu
            session = self.sessions.read(request)
        return self.error_page(request, 404, "There is no such page in the console.", session)

    def routes(self) -> list[BaseRoute]:
        """Specific routes first, then the catch-all (the node's RouteTable keeps order).
        Browser pages, no API: left out of /openapi.json."""
        out: list[BaseRoute] = [
            Route(PREFIX, self.home, methods=["GET"]),
            Route(PREFIX + "/", self.home, methods=["GET"]),
            Route(PREFIX + "/login", self.login_form, methods=["GET"]),
            Route(PREFIX + "/login", self.login, methods=["POST"]),
            Route(PREFIX + "/logout", self.logout, methods=["POST"]),
            Route(PREFIX + "/static/{name}", self.asset, methods=["GET"]),
        ]
        for page in self.pages:
            base = f"{PREFIX}/{page.slug}"
            for path, fn in page.views:
                out.append(Route(f"{base}/{path}" if path else base,
                                 self._wrap(page, fn, action=False), methods=["GET"]))
            for path, fn in page.actions:
                out.append(Route(f"{base}/{path}", self._wrap(page, fn, action=True),
                                 methods=["POST"]))
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        out.append(Route(PREFIX + "/{rest:path}", self.nowhere, methods=methods))
        for route in out:
            route.include_in_schema = False
        return out


def _html(html: str, status: int) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=dict(security.HEADERS))


def _take_flash(request: Request) -> tuple[str, str] | None:
    value = request.cookies.get(security.FLASH_COOKIE)
    if not value or len(value) > 1024:
        return None
    payload = secret_key.current().unsign(value, FLASH_SECONDS)
    if payload is None:
        return None
    try:
        kind, _, message = base64.urlsafe_b64decode(payload).decode().partition(":")
    except ValueError:
        return None
    return (kind if kind in ("ok", "error") else "ok", message)
