"""Who may use the console, and proof that a form came from it.

The session is a cookie signed with the node's secret key: a random nonce and a
fingerprint of the operator token. Rotating the operator token, or the key,
ends every session; logging out ends this one (the nonce is remembered as
revoked until the cookie would have expired anyway). Nothing is stored per
session, so the console adds no table and survives restarts.

A form's CSRF token is an HMAC of the fixed string below keyed by the nonce: a
page that cannot read the cookie (``HttpOnly``) cannot compute it, and it changes
with every login. The ``Origin`` (else ``Referer``) of a POST, when the browser
sends one, must be the console's own as well.
"""

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from .. import secret_key

COOKIE = "ocpi_console"
FLASH_COOKIE = "ocpi_console_flash"
PATH = "/console"
SESSION_SECONDS = 8 * 3600  # a working day; then the token is asked for again
MAX_REVOKED = 10_000  # logouts remembered; the oldest go first (they expire anyway)
# wrong tokens the console takes per minute (from anyone) before it answers 429 for the
# rest of that minute: guessing a token online stays hopeless even for a short one
MAX_FAILED_LOGINS = 20

# self only: no inline script or style, nothing from elsewhere, no framing
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Session:
    nonce: str

    @property
    def csrf(self) -> str:
        return hmac.new(self.nonce.encode(), b"ocpi console form", hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf, given)


def _fingerprint(operator_token: str) -> str:
    """Which operator token a session was opened with, without the token itself."""
    return hashlib.sha256(b"ocpi console\0" + operator_token.encode()).hexdigest()[:32]


class Sessions:
    """Opens, reads and ends console sessions for one operator token."""

    def __init__(self, operator_token: str | None) -> None:
        self._operator = operator_token or None
        self._revoked: dict[str, float] = {}  # nonce -> when its cookie expires
        self._failures: deque[float] = deque()  # when wrong tokens were given, last minute

    @property
    def enabled(self) -> bool:
        return self._operator is not None

    def is_operator(self, token: str) -> bool:
        """Only the operator token opens the console, compared in constant time."""
        if self._operator is None:
            return False
        return hmac.compare_digest(token.encode(), self._operator.encode())

    def throttled(self) -> bool:
        """Too many wrong tokens in the last minute: refuse logins until it passes."""
        now = time.monotonic()
        while self._failures and self._failures[0] < now - 60:
            self._failures.popleft()
        return len(self._failures) >= MAX_FAILED_LOGINS

    def failed(self) -> None:
        self._failures.append(time.monotonic())

    def open(self) -> str:
        """A fresh signed cookie value."""
        assert self._operator is not None
        nonce = secrets.token_hex(16)
        return secret_key.current().sign(f"{nonce}-{_fingerprint(self._operator)}")

    def read(self, request: Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        if not value or len(value) > 256 or self._operator is None:
            return None
        payload = secret_key.current().unsign(value, SESSION_SECONDS)
        if payload is None:
            return None
        nonce, _, fingerprint = payload.partition("-")
        if not hmac.compare_digest(fingerprint, _fingerprint(self._operator)):
            return None  # opened with an operator token no longer in force
        if nonce in self._revoked:
            return None
        return Session(nonce)

    def end(self, session: Session) -> None:
        now = time.time()
        for nonce, until in list(self._revoked.items()):
            if until < now:
                del self._revoked[nonce]
        while len(self._revoked) >= MAX_REVOKED:
            del self._revoked[next(iter(self._revoked))]
        self._revoked[session.nonce] = now + SESSION_SECONDS


def is_tls(request: Request) -> bool:
    """Did the browser reach us over TLS? Behind a proxy, uvicorn's
    ``--proxy-headers``/``--forwarded-allow-ips`` (``FORWARDED_ALLOW_IPS``) set the
    scheme from ``X-Forwarded-Proto`` only for proxies the node trusts."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, path=PATH, httponly=True,
                        samesite="strict", secure=is_tls(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict",
                           secure=is_tls(request))


def same_origin(request: Request) -> bool:
    """A POST's ``Origin`` (else ``Referer``), when sent, names this host and scheme.

    Browsers send ``Origin`` on every cross-site POST; a request without either
    header is not a browser's cross-site one (the CSRF token still applies)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return True
    if claimed == "null":
        return False
    parts = urlsplit(claimed)
    host = request.headers.get("host", "")
    scheme = "https" if is_tls(request) else "http"
    return hmac.compare_digest(f"{parts.scheme}://{parts.netloc}".lower(),
                               f"{scheme}://{host}".lower())
