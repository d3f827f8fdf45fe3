"""Errors that become OCPI envelopes.

Handlers raise these; the transport layer turns each into the HTTP status and
OCPI ``status_code`` a partner expects, never a bare FastAPI body.
"""

from .status import Status


class OcpiError(Exception):
    """An error answered with an OCPI envelope."""

    http_status: int = 400
    status_code: int = Status.CLIENT_ERROR

    def __init__(self, message: str, *, status_code: int | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if http_status is not None:
            self.http_status = http_status


class InvalidParameters(OcpiError):
    """Body or parameters that do not fit the specification (2001).

    HTTP 200: a request that is valid JSON has reached the OCPI layer, and
    there the specification says MUST NOT answer an HTTP error (2.2.1 status
    codes; 2.1.1 says should not). Only a body that is not JSON is HTTP 400.
    """

    http_status = 200
    status_code = Status.INVALID_PARAMETERS


class Unauthorized(OcpiError):
    """No token, or a token we do not know (HTTP 401)."""

    http_status = 401
    status_code = Status.CLIENT_ERROR


class Forbidden(OcpiError):
    """A known caller asking for something its role or namespace does not allow."""

    http_status = 403
    status_code = Status.CLIENT_ERROR


class NotFound(OcpiError):
    """Unknown object (HTTP 404, 2003 on 2.2+)."""

    http_status = 404
    status_code = Status.UNKNOWN_LOCATION



class MethodNotAllowed(OcpiError):
    """A call that does not fit the state, e.g. a second credentials POST (HTTP 405)."""

    http_status = 405
    status_code = Status.CLIENT_ERROR


class OurDataInvalid(OcpiError):
    """What we would answer is invalid because an object we hold is (a library user's
    Crud returned a bad ``last_updated``): our fault, not the caller's, so a server
    error; the operator's log names the field."""

    http_status = 500
    status_code = Status.SERVER_ERROR
