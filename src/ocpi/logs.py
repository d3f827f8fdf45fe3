"""The node's logs: one line per request, the outbox's and handshakes' events, as
text or JSON lines, with no token or secret in them (docs/logging.md).

Why a handler of its own: a request must not wait on a slow log reader (a pipe to
a collector that stalls), and a line per request must cost little. So records go
into an in-memory queue and one writer thread formats and writes whatever has
gathered, in one write; an access line is formatted there too, from the raw
values the request left. A queue that passes ``MAX_PENDING`` lines (a reader
stuck for long) drops new lines and says how many, rather than growing.

This module imports nothing of the node's, so every layer may log through it.
"""

import atexit
import contextlib
import contextvars
import copy
import logging
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

FORMAT_ENV = "OCPI_LOG_FORMAT"
LEVEL_ENV = "OCPI_LOG_LEVEL"
ACCESS_ENV = "OCPI_ACCESS_LOG"
FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_PENDING = 100_000  # lines waiting for the writer; beyond them new ones are dropped
LINGER = 0.05  # seconds the writer lets lines gather before it writes them
MAX_VALUE = 200  # characters of any value taken from a request (path, ids, query values)

ACCESS = logging.getLogger("ocpi.access")

# (request id, correlation id) of the request being served, as the client sent them
# (or made up): the outbox tags the messages a request queues with them
REQUEST: contextvars.ContextVar[tuple[bytes, bytes] | None] = contextvars.ContextVar(
    "ocpi_request_ids", default=None)

_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]+")
_PLAIN = re.compile(rb"[\x21-\x7e]*")  # printable ASCII, no space
# query parameters whose values are the protocol's own and never secret
_SHOWN_QUERY = frozenset({"offset", "limit", "date_from", "date_to", "type", "country_code",
                          "party_id"})


def kv(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: named fields, a JSON line's keys and ``k=v`` in text."""
    return {"fields": fields}


def request_ids() -> tuple[str, str] | None:
    """(request id, correlation id) of the request being served, if any."""
    ids = REQUEST.get()
    if ids is None:
        return None
    return clean(ids[0]), clean(ids[1])


@contextlib.contextmanager
def flow() -> Iterator[str]:
    """Work outside a request (a handshake the operator started) as one flow: every
    call it makes carries one correlation id, which it yields (a request's own, within one)."""
    current = REQUEST.get()
    if current is not None:
        yield clean(current[1])
        return
    new = uuid.uuid4().hex.encode()
    token = REQUEST.set((new, new))
    try:
        yield new.decode()
    finally:
        REQUEST.reset(token)


def flow_correlation_id(fresh: str, longest: int = 32) -> str:
    """The X-Correlation-ID of what the node sends now: the request's own when it is a
    plain id of at most ``longest`` characters (the outbox's column holds 32), so one
    grep of it follows a write to every delivery; else ``fresh`` (the outbox's
    ``queued`` line names both)."""
    ids = REQUEST.get()
    if ids is not None and len(ids[1]) <= longest and _SAFE_ID.fullmatch(ids[1]):
        return ids[1].decode("ascii")
    return fresh


def clean(value: bytes | str | None, limit: int = MAX_VALUE) -> str:
    """A value from outside (a header, a path) made safe for one log line: printable
    ASCII, control and other characters escaped, and bounded."""
    if value is None:
        return "-"
    if isinstance(value, bytes):
        if len(value) <= limit and _PLAIN.fullmatch(value):  # the usual: as it is
            return value.decode("ascii")
        text = value[:limit + 1].decode("ascii", "backslashreplace")
    else:
        text = value[:limit + 1]
    if not (text.isascii() and text.isprintable()):
        text = text.encode("ascii", "backslashreplace").decode("ascii")
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def redacted_query(query: bytes) -> str:
    """A query string with only the protocol's own parameters' values kept (paging and
    filters); every other parameter, name and value, is counted, never written: a
    partner or a proxy may put a token there."""
    shown, hidden = [], 0
    for part in query.split(b"&")[:50]:
        name, _, value = part.partition(b"=")
        key = name.decode("latin-1")
        if key in _SHOWN_QUERY and len(shown) < 10:
            shown.append(f"{key}={clean(value, 64)}")
        elif part:
            hidden += 1
    hidden += max(0, query.count(b"&") + 1 - 50)
    if hidden:
        shown.append(f"[{hidden} more]")
    return "&".join(shown)


def safe_url(url: str | None) -> str:
    """A URL for a log line: without user info, query or fragment (where a token could be)."""
    if not url:
        return "-"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return clean(urlunsplit((parts.scheme, netloc, parts.path, "", "")))
    except ValueError:
        return "(unreadable URL)"


# --- the access line -------------------------------------------------------------------


# what ``access`` hands the writer: (time, method, path, query, status, OCPI status,
# duration in ms, caller, client, request id, correlation id, OCPI message)
AccessRaw = tuple[float, Any, Any, Any, Any, Any, float, Any, Any, bytes, bytes, Any]


class AccessRecord(logging.LogRecord):
    """One request's line for a handler other than the node's own writer (see
    ``access``), made without ``LogRecord``'s own set-up (the caller's frame, thread
    and process names). Its text is made where it is formatted, from the raw values."""

    _DEFAULTS: dict[str, Any] = {  # what other formatters may name, in one update
        "pathname": "", "filename": "", "module": "", "funcName": "", "lineno": 0,
        "thread": None, "threadName": None, "process": None, "processName": None,
        "exc_info": None, "exc_text": None, "stack_info": None, "relativeCreated": 0.0}

    def __init__(self, raw: AccessRaw) -> None:
        self.__dict__.update(self._DEFAULTS)
        self.name = "ocpi.access"
        self.levelno = logging.INFO
        self.levelname = "INFO"
        self.created = raw[0]
        self.msecs = (self.created % 1) * 1000
        self.msg = "%s %s %s"
        self.args = None
        self._raw = raw
        self._fields: dict[str, Any] | None = None

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        if self._fields is None:
            self._fields = _access_fields(self._raw)
        return self._fields

    # what the text line's message says already: not repeated as key=value
    in_message = frozenset({"method", "path", "query", "status", "ocpi_status",
                            "duration_ms"})

    def getMessage(self) -> str:  # logging's name
        return _access_message(self.fields)


_CALLERS = {"A": "registration", "C": "partner", "OLD": "partner-old-token",
            "operator": "operator"}


def _id(value: bytes) -> str:
    """A request or correlation id: as sent when it is a plain id (the usual), else cleaned."""
    if len(value) <= 100 and _SAFE_ID.fullmatch(value):
        return value.decode("ascii")
    return clean(value, 100)


def _access_path(path: Any) -> str:
    """The request's path for a line: as sent when it is plain (the usual), else cleaned."""
    if path.__class__ is bytes and len(path) <= 512 and _plain(path):
        return path.decode("ascii")
    return clean(path, 512)


def _access_fields(raw: AccessRaw, callers: dict[Any, Any] | None = None,
                   clients: dict[Any, Any] | None = None) -> dict[str, Any]:
    """A request's fields, in their order; ``callers``/``clients``: a formatter's memos."""
    (_, method, path, query, status, ocpi_status, ms, caller, client, request_id,
     correlation_id, message) = raw
    fields: dict[str, Any] = {"method": method or "-", "path": _access_path(path)}
    if query:
        fields["query"] = redacted_query(query)
    fields["status"] = status if status is not None else "-"
    fields["ocpi_status"] = ocpi_status if ocpi_status is not None else "-"
    fields["duration_ms"] = round(ms, 2)
    key = _caller_key(caller)
    fields.update(_caller_fields(key) if callers is None else
                  _memo(callers, key, _caller_fields))
    if client:
        fields["client"] = _client_field(client[0]) if clients is None else \
            _memo(clients, client[0], _client_field)
    fields["request_id"] = _id(request_id)
    fields["correlation_id"] = _id(correlation_id)
    if message:  # why a request was refused, as the node told the caller
        fields["ocpi_message"] = clean(message)
    return fields


def _access_message(f: dict[str, Any]) -> str:
    path = f["path"] + (f"?{f['query']}" if "query" in f else "")
    return f"{f['method']} {path} {f['status']} {f['ocpi_status']} {f['duration_ms']}ms"


def access(scope: Mapping[str, Any], status: int | None, started: float, request_id: bytes,
           correlation_id: bytes) -> None:
    """Log one request (the transport calls it when the answer is sent).

    The raw values go straight onto the node's writer queue when that writer is where
    the line would end up anyway (the usual set-up): ``logging``'s own dispatch would
    cost more than the line's formatting. Any other handler on the way (a test's, an
    operator's own logging set-up) gets a ``LogRecord`` as usual."""
    raw: AccessRaw = (time.time(), scope.get("method"),
                      scope.get("raw_path") or scope.get("path"), scope.get("query_string"),
                      status, scope.get("ocpi.status"),
                      (time.perf_counter() - started) * 1000, scope.get("ocpi.caller"),
                      scope.get("client"), request_id, correlation_id,
                      scope.get("ocpi.message"))
    writer = _current
    if writer is not None and _straight_to(writer):
        writer.put_access(raw)
    else:
        ACCESS.handle(AccessRecord(raw))


_PARENT = logging.getLogger("ocpi")


def _straight_to(writer: "QueueWriter") -> bool:
    """Would ``logging`` hand an access record to ``writer`` alone, unfiltered? Then the
    record can be skipped. Any filter, other handler or level on the way (an operator's
    redaction or sampling, a test's capture) takes the ordinary path."""
    handlers = logging.root.handlers
    return (len(handlers) == 1 and handlers[0] is writer and not writer.filters
            and writer.level <= logging.INFO and not ACCESS.handlers
            and not ACCESS.filters and not ACCESS.disabled and ACCESS.propagate
            and not _PARENT.handlers and _PARENT.propagate)


# --- formats ---------------------------------------------------------------------------


class _Stamp:
    """ISO 8601 UTC with milliseconds, the seconds part made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._text}.{int((created - second) * 1000):03d}Z"


def _exception(record: logging.LogRecord, formatter: logging.Formatter) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's fields."""

    def __init__(self) -> None:
        super().__init__()
        self._stamp = _Stamp()
        self._callers: dict[Any, dict[str, Any]] = {}
        self._clients: dict[Any, str] = {}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": self._stamp(record.created), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, value)
        exc = _exception(record, self)
        if exc:
            line["exception"] = exc
        return orjson.dumps(line, default=str).decode()

    def access_line(self, raw: AccessRaw) -> str:
        """``format`` of an ``AccessRecord``, without the record (``test_logs`` checks
        it against ``format``)."""
        fields = _access_fields(raw, self._callers, self._clients)
        line = {"time": self._stamp(raw[0]), "level": "INFO", "logger": "ocpi.access",
                "message": _access_message(fields)}
        line.update(fields)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...`` on one line: the message's own line
    breaks and control characters are escaped, a value with spaces or quotes is quoted,
    and a traceback's lines follow indented, so no text from outside can pass for a
    line of its own."""

    def __init__(self) -> None:
        super().__init__()
        self._stamp = _Stamp()
        self._callers: dict[Any, str] = {}
        self._clients: dict[Any, str] = {}

    def format(self, record: logging.LogRecord) -> str:
        parts = [self._stamp(record.created), f"{record.levelname:<7}", record.name,
                 _text(record.getMessage())]
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            skip = getattr(record, "in_message", ())
            parts.extend(f"{key}={_value(value)}" for key, value in fields.items()
                         if key not in skip)
        line = " ".join(parts)
        exc = _exception(record, self)
        if exc:
            line += "\n" + exc
        return line.replace("\n", "\n    ") if "\n" in line else line

    def access_line(self, raw: AccessRaw) -> str:
        """``format`` of an ``AccessRecord``, without the record, in one pass: the
        writer makes one of these per request, so it is spelled out for speed
        (``test_logs`` checks it against ``format``)."""
        (created, method, path, query, status, ocpi_status, ms, caller, client, request_id,
         correlation_id, message) = raw
        path = _text(_access_path(path))
        if query:
            path = f"{path}?{_text(redacted_query(query))}"
        line = (f"{self._stamp(created)} INFO    ocpi.access {method or '-'} {path} "
                f"{'-' if status is None else status} "
                f"{'-' if ocpi_status is None else ocpi_status} {round(ms, 2)}ms caller="
                f"{_memo(self._callers, _caller_key(caller), _caller_text)}")
        if client:
            line += _memo(self._clients, client[0], _client_text)
        line += f" request_id={_text_id(request_id)} correlation_id={_text_id(correlation_id)}"
        if message:
            line += f" ocpi_message={_value(clean(message))}"
        return line


def _caller_key(caller: Any) -> tuple[Any, ...] | None:
    if caller is None:
        return None
    return (getattr(caller, "token_kind", None), getattr(caller, "name", None),
            getattr(caller, "country_code", None), getattr(caller, "party_id", None),
            getattr(caller, "peer_id", None))


def _memo(memo: dict[Any, Any], key: Any, make: Any) -> Any:
    """``make(key)``, remembered: a node's lines name few callers and clients, again and
    again. Bounded: a flood of new ones starts the memo afresh."""
    try:
        return memo[key]
    except KeyError:
        if len(memo) >= 1024:
            memo.clear()
        made = memo[key] = make(key)
        return made


def _caller_fields(key: tuple[Any, ...] | None) -> dict[str, Any]:
    if key is None:
        return {"caller": "-"}
    kind, name, country, party_id, peer_id = key
    fields: dict[str, Any] = {"caller": _CALLERS.get(kind, "partner")}
    if name:
        fields["partner"] = clean(name, 100)
    if country:
        fields["party"] = f"{country}/{party_id}"
    if peer_id is not None:
        fields["peer_id"] = peer_id
    return fields


def _caller_text(key: tuple[Any, ...] | None) -> str:
    fields = _caller_fields(key)
    return " ".join([fields.pop("caller"), *(f"{k}={_value(v)}" for k, v in fields.items())])


def _client_field(host: Any) -> str:
    return clean(str(host), 64)


def _client_text(host: Any) -> str:
    return f" client={_value(_client_field(host))}"


def _text_id(value: bytes) -> str:
    return _value(_id(value))  # quoted only when cleaning left a space, quote or "="


_plain = _PLAIN.fullmatch


def _text(message: str) -> str:
    """A message on one line, whatever it quotes: a line is one event, fields included."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or f"\\x{ord(c):02x}"
                   for c in message)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and text.isprintable() and " " not in text and '"' not in text and \
            "=" not in text:
        return text
    return orjson.dumps(text).decode()


# --- the writer --------------------------------------------------------------------------


class QueueWriter(logging.Handler):
    """Queues records for a writer thread (see the module doc)."""

    def __init__(self, stream: IO[str], formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.stream = stream
        self._queue: queue.SimpleQueue[logging.LogRecord | AccessRaw | None] = \
            queue.SimpleQueue()
        self._dropped = 0
        self._thread = threading.Thread(target=self._write, name="ocpi-log-writer",
                                        daemon=True)
        self._thread.start()

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        """No lock and no filters: one put on a thread-safe queue."""
        if self._queue.qsize() >= MAX_PENDING:
            self._dropped += 1
            return False
        if not isinstance(record, AccessRecord):  # its arguments may change after the call
            try:
                record = copy.copy(record)
                record.msg = record.getMessage()
                record.args = None
                assert self.formatter is not None
                _exception(record, self.formatter)
                record.exc_info = None
            except Exception:
                self.handleError(record)
                return False
        self._queue.put(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def put_access(self, raw: AccessRaw) -> None:
        """An access line's raw values, formatted in the writer thread (``access``)."""
        if self._queue.qsize() >= MAX_PENDING:
            self._dropped += 1
        else:
            self._queue.put(raw)

    def _write(self) -> None:
        _name_thread(WRITER_THREAD)
        while True:
            record = self._queue.get()
            if record is not None:
                time.sleep(LINGER)  # let lines gather: one wake-up and one write for many
            lines, done = [], record is None
            while record is not None:
                lines.append(self._line(record))
                if len(lines) >= 5000:
                    break
                try:
                    record = self._queue.get_nowait()
                except queue.Empty:
                    break
                done = done or record is None
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                lines.append(f"{dropped} log lines dropped: the log reader was too slow")
            try:
                for chunk in _chunks(lines):
                    self.stream.write(chunk)
                    self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed stream: nothing left to tell
            if done:
                return

    def _line(self, record: logging.LogRecord | AccessRaw) -> str:
        try:
            if isinstance(record, tuple):
                return self.formatter.access_line(record)  # type: ignore[union-attr]
            return self.format(record)
        except Exception as exc:  # a bad record must not end the writer
            name = "ocpi.access" if isinstance(record, tuple) else record.name
            return f"(log record of {name} could not be written: {exc!r})"

    def close(self) -> None:
        """Write what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(5)
        super().close()


WRITER_THREAD = "ocpi-log-writer"  # as ``top -H`` and /proc show it (make bench reads it)


def _name_thread(name: str) -> None:
    """Give the calling thread its name in the operating system too (Linux: 15 bytes),
    so an operator sees what a thread costs; a system without /proc keeps the default."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def _chunks(lines: list[str], size: int = 4096) -> Iterator[str]:
    """Whole lines, at most ``size`` bytes a write where lines allow: a pipe takes a
    write of up to 4096 bytes whole, so the lines of ``--workers N`` processes sharing
    one pipe never cut into each other."""
    chunk: list[str] = []
    used = 0
    for line in lines:
        n = len(line) + 1  # characters, bytes for ASCII: a message in another script may
        # make a chunk longer, and only then can it be cut into
        if chunk and used + n > size:
            yield "\n".join(chunk) + "\n"
            chunk, used = [], 0
        chunk.append(line)
        used += n
    if chunk:
        yield "\n".join(chunk) + "\n"


_current: QueueWriter | None = None


def configure(fmt: str = "text", level: str = "info", access_log: bool = True,
              stream: IO[str] | None = None) -> QueueWriter:
    """Send the node's logs (and uvicorn's, and any library's warnings) to ``stream``
    (stderr) in ``fmt``; ``level`` for all but the access log, which ``access_log``
    turns on or off alone. Calling it again replaces the previous set-up."""
    global _current
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    handler = QueueWriter(stream or sys.stderr,
                          JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    if _current is not None:
        root.removeHandler(_current)
        _current.close()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    numeric = logging.getLevelName(level.upper())
    for name in ("ocpi", "uvicorn.error"):
        logging.getLogger(name).setLevel(numeric)
    ACCESS.setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    logging.getLogger("uvicorn.access").disabled = True  # ours says more
    _current = handler
    return handler


def configure_from_env() -> QueueWriter:
    """``configure`` from ``OCPI_LOG_FORMAT``/``OCPI_LOG_LEVEL``/``OCPI_ACCESS_LOG``,
    which ``ocpi serve`` sets from its flags for every worker process."""
    return configure(os.environ.get(FORMAT_ENV) or "text",
                     os.environ.get(LEVEL_ENV) or "info",
                     (os.environ.get(ACCESS_ENV) or "1").lower() not in ("0", "false", "no",
                                                                          "off"))


def uvicorn_config() -> dict[str, Any]:
    """uvicorn's ``log_config``: it applies it in every worker process it starts."""
    return {"version": 1, "disable_existing_loggers": False,
            "handlers": {"ocpi": {"()": configure_from_env}},
            "root": {"handlers": ["ocpi"], "level": "WARNING"},
            "loggers": {"uvicorn": {"propagate": True}}}


@atexit.register
def _flush_at_exit() -> None:
    if _current is not None:
        _current.close()
