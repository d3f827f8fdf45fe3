"""The logs of a real ``ocpi serve``: what an operator reads, and what it never holds.

Every test starts the node as a user does and reads what it wrote to stderr, after
the process ended (the writer thread flushes at exit): no token or secret, from a
header, a query string or a credentials body, in either format; JSON lines that
parse and carry the fields; text that reads; ``--no-access-log``; and one grep of
a correlation id that follows a write to each delivery attempt.
"""

import asyncio
import base64
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocpi.store.database import Database

from .conftest import BACKENDS, PG_URL, reset_postgres
from .outbox_helpers import receiving_partner
from .receiver import Receiver
from .servers import wait_serving
from .test_cli import free_port
from .test_partners_e2e import _token_out

OCPI = [sys.executable, "-m", "ocpi.cli"]
OPERATOR = "logs-operator-SECRET-0001"
ENV = {**os.environ, "OCPI_ALLOW_INSECURE_PARTNERS": "1", "OCPI_OPERATOR_TOKEN": OPERATOR,
       "OCPI_OUTBOX_POLL": "0.1", "OCPI_OUTBOX_RETRY_BASE": "0.1",
       "OCPI_OUTBOX_RETRY_MAX": "0.3"}
for _name in ("OCPI_LOG_FORMAT", "OCPI_LOG_LEVEL", "OCPI_ACCESS_LOG"):
    ENV.pop(_name, None)


def b64(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


class Node:
    """A running ``ocpi serve`` and the file its stderr goes to."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path, db: str) -> None:
        self.url = url
        self.proc = proc
        self.log = log
        self.db = db

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> str:
        """End the process (as an operator does) and return all it logged."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        return self.text()


@contextmanager
def serving(tmp: Path, name: str, *flags: str, role: str = "cpo", party: str = "NL/OCP",
            env: dict[str, str] | None = None, db: str | None = None) -> Iterator[Node]:
    port = free_port()
    db = db or f"sqlite:///{tmp / f'{name}.db'}"
    log = tmp / f"{name}.log"
    cc, pid = party.split("/")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*OCPI, "serve", "--database", db, "--port", str(port), "--role", role,
             "--country-code", cc, "--party-id", pid, *flags],
            stdout=subprocess.DEVNULL, stderr=err, env={**ENV, **(env or {})})
    node = Node(f"http://127.0.0.1:{port}", proc, log, db)
    try:
        wait_serving(node.url, proc, node.text)
        yield node
    finally:
        node.stop()


def ocpi(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OCPI, *args, "--database", db], capture_output=True, text=True,
                          timeout=120, env=ENV, check=True)


def eventually(what: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, "not logged in time"
        time.sleep(0.05)
    return found


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]  # every line, or it fails


def access_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if " ocpi.access " in line
            or '"logger":"ocpi.access"' in line]


# --- no secret, in either format --------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_token_or_secret_is_ever_written_to_the_log(tmp_path, fmt):
    """Two nodes register with each other (token A, B and C cross the wire, in headers
    and in credentials bodies), then tokens are sent in headers, query strings and a
    failed registration's body: none of them, nor its base64 form, reaches either log,
    though every one of those requests has its line."""
    query_secrets = ["QUERYSECRET-1", "QUERYSECRET-2"]
    header_secret, body_secret = "HEADERSECRET-3", "BODYSECRET-4"
    with serving(tmp_path, "cpo", "--log-format", fmt, party="NL/CPO") as cpo, \
            serving(tmp_path, "emsp", "--log-format", fmt, role="emsp",
                    party="DE/MSP") as emsp:
        invite = json.loads(ocpi("peers", "invite", "--country-code", "DE", "--party-id",
                                 "MSP", "--role", "EMSP", "--json", db=cpo.db).stdout)
        ocpi("peers", "register", "--versions-url", invite["versions_url"],
             f"--token={invite['token']}", "--version", "2.2.1", "--json", db=emsp.db)
        token_c = asyncio.run(_token_out(emsp.db, "nl-cpo-cpo"))  # the eMSP calls us with it
        token_b = asyncio.run(_token_out(cpo.db, "de-msp-emsp"))  # we call the eMSP with it

        with httpx.Client(base_url=cpo.url, timeout=10) as http:
            r = http.get(f"/ocpi/cpo/2.2.1/locations?offset=0&limit=10&token={query_secrets[0]}"
                         f"&access_token={query_secrets[1]}",
                         headers={"Authorization": b64(token_c), "X-Request-ID": "req-fields-1",
                                  "X-Correlation-ID": "corr-fields-1"})
            assert r.json()["status_code"] == 1000
            r = http.get("/ocpi/cpo/2.2.1/locations", headers={"Authorization": f"Token {token_c}"})
            assert r.json()["status_code"] == 1000  # the plain form is accepted too
            r = http.get("/ocpi/cpo/2.2.1/locations", headers={"Authorization": b64(header_secret)})
            assert r.status_code == 401
            r = http.get("/ocpi/cpo/2.2.1/locations?x=1",
                         headers={"Authorization": f"Token {OPERATOR}"})
            assert r.json()["status_code"] == 1000
            second = json.loads(ocpi("peers", "invite", "--country-code", "FR", "--party-id",
                                     "ABC", "--role", "EMSP", "--json", db=cpo.db).stdout)
            creds = {"token": body_secret, "url": "http://127.0.0.1:9/versions",
                     "roles": [{"role": "EMSP", "party_id": "ABC", "country_code": "FR",
                                "business_details": {"name": "X"}}]}
            r = http.post("/ocpi/2.2.1/credentials", json=creds,
                          headers={"Authorization": b64(second["token"])})
            assert r.json()["status_code"] == 3001  # it cannot be reached: refused
            r = http.post("/ocpi/2.2.1/credentials", json={**creds, "url": 5},
                          headers={"Authorization": b64(second["token"])})
            assert r.json()["status_code"] == 2001
        eventually(lambda: len(access_lines(cpo.text())) >= 6)
    logs = {"cpo": cpo.text(), "emsp": emsp.text()}

    secrets = [OPERATOR, invite["token"], token_b, token_c, second["token"], header_secret,
               body_secret, *query_secrets]
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, (name, secret)
            assert base64.b64encode(secret.encode()).decode() not in text, (name, secret)
        assert "Traceback" not in text

    cpo_lines = access_lines(logs["cpo"])
    assert sum("/credentials" in line for line in cpo_lines) >= 3  # the lines were written
    if fmt == "json":
        _check_json(logs)
    else:
        _check_text(logs)


def _check_json(logs: dict[str, str]) -> None:
    """Every line parses; an access line carries every field; a handshake is one flow."""
    cpo = json_lines(logs["cpo"])
    emsp = json_lines(logs["emsp"])
    [line] = [x for x in cpo if x.get("request_id") == "req-fields-1"]
    assert line["logger"] == "ocpi.access" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["ocpi_status"]) == \
        ("GET", "/ocpi/cpo/2.2.1/locations", 200, 1000)
    assert line["query"] == "offset=0&limit=10&[2 more]"
    assert (line["caller"], line["partner"], line["party"], line["correlation_id"]) == \
        ("partner", "de-msp-emsp", "DE/MSP", "corr-fields-1")
    assert isinstance(line["peer_id"], int) and line["duration_ms"] >= 0
    assert line["client"] == "127.0.0.1" and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z",
                                                            line["time"])
    refused = [x for x in cpo if x.get("status") == 401 and x.get("path", "").endswith(
        "/locations")]
    assert refused and refused[0]["ocpi_status"] == 2000 and refused[0]["caller"] == "-"
    assert "Authorization token" in refused[0]["ocpi_message"]
    failed = [x for x in cpo if x.get("ocpi_status") == 3001]
    assert failed and failed[0]["caller"] == "registration" and failed[0]["party"] == "FR/ABC"

    # the registration as one flow: our POST of credentials, the CPO's calls back to the
    # eMSP in that request, all under the correlation id the eMSP's handshake chose
    [post] = [x for x in cpo if x.get("method") == "POST" and x.get("ocpi_status") == 1000]
    flow = post["correlation_id"]
    assert post["caller"] == "registration" and post["party"] == "DE/MSP"
    called_back = [x["path"] for x in emsp if x.get("correlation_id") == flow]
    assert "/ocpi/versions" in called_back and "/ocpi/2.2.1/details" in called_back


def _check_text(logs: dict[str, str]) -> None:
    """One line per request, in words first, then ``key=value``."""
    [line] = [x for x in logs["cpo"].splitlines() if "request_id=req-fields-1" in x]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+Z INFO +ocpi\.access GET /ocpi/cpo/2\.2\.1/locations"
        r"\?offset=0&limit=10&\[2 more\] 200 1000 [\d.]+ms caller=partner "
        r"partner=de-msp-emsp party=DE/MSP "
        r"peer_id=\d+ client=127\.0\.0\.1 request_id=req-fields-1 correlation_id=corr-fields-1",
        line), line
    assert any("ocpi_message=\"missing or unknown Authorization token\"" in x
               for x in access_lines(logs["cpo"]))


def test_a_text_line_cannot_be_forged_from_outside():
    """A partner's words in a message or a field never start a line of their own."""
    from ocpi.logs import TextFormatter, kv

    forged = "ok\n2026-01-01T00:00:00.000Z INFO    ocpi.access GET /fake 200 1000 1ms"
    record = logging.makeLogRecord({"name": "ocpi.outbox", "levelno": logging.WARNING,
                                    "levelname": "WARNING", "msg": "partner said %s",
                                    "args": (forged,), **kv(reason="a\x1b[31mred\rb")})
    line = TextFormatter().format(record)
    assert "\n" not in line and "\x1b" not in line and "\r" not in line
    assert line.endswith('partner said ok\\n2026-01-01T00:00:00.000Z INFO    ocpi.access GET '
                         '/fake 200 1000 1ms reason="a\\u001b[31mred\\rb"')
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(record).split("\n")
    assert first == line and rest[0] == "    Traceback (most recent call last):"
    assert all(x.startswith("    ") for x in rest)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_writers_own_access_line_is_the_formatters_line(fmt):
    """The writer's one-pass access line (its hot path) says exactly what ``format``
    makes of the same request as a ``LogRecord`` (what any other handler gets),
    whatever the request held: plain values, odd bytes, missing parts, long ones."""
    from ocpi.core.authentication.authenticator import Caller
    from ocpi.logs import AccessRecord, JsonFormatter, TextFormatter

    partner = Caller("C", "DE", "MSP", peer_id=7, name="de msp \"one\"")
    odd = Caller("A", None, None, name="x\x1b[31m\n" + "n" * 300)
    raws = [
        (1_700_000_000.25, "GET", b"/ocpi/cpo/2.2.1/locations", b"offset=0&limit=50", 200,
         1000, 3.14159, partner, ("10.0.0.7", 4000), b"req-1", b"corr-1", None),
        (1_700_000_001.0, "PUT", b"/ocpi/emsp/2.2.1/sessions/DE/MSP/S 1\xff\n",
         b"token=SECRET&x=1", 401, 2000, 0.004, None, None, b"id with space \"q\"=",
         b"\x00" * 150, "missing or unknown Authorization token"),
        (1_700_000_002.999, None, "/" + "p" * 700, b"", None, None, 12.0, odd,
         ("::1", 1), b"r" * 101, b"c", "a\nb"),
        (1_700_000_003.5, "POST", None, None, 500, None, 1.0, Caller("operator"),
         ("127.0.0.1", 5), b"r", b"r", None),
    ]
    formatter = TextFormatter() if fmt == "text" else JsonFormatter()
    for raw in raws:
        for _ in range(2):  # the second time from its memos
            assert formatter.access_line(raw) == formatter.format(AccessRecord(raw))
    if fmt == "json":
        line = json.loads(formatter.access_line(raws[1]))
        assert "SECRET" not in json.dumps(line) and line["query"] == "[2 more]"
    else:
        line = formatter.access_line(raws[1])
        assert "\n" not in line and "SECRET" not in line


def test_the_writer_thread_is_named_for_the_operator_and_make_bench():
    """``top -H`` shows the writer by name, and make bench reads its CPU by that name."""
    import io
    import threading

    from ocpi import logs

    handler = logs.configure(stream=io.StringIO())
    try:
        deadline = time.monotonic() + 5
        thread = handler._thread
        path = Path(f"/proc/self/task/{thread.native_id}/comm")
        while path.read_text().strip() != logs.WRITER_THREAD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.read_text().strip() == logs.WRITER_THREAD
        assert threading.current_thread().name != logs.WRITER_THREAD
    finally:
        handler.close()  # and the process's logging as it was for the tests after this one
        logging.getLogger().removeHandler(handler)
        logs._current = None
        for name in ("ocpi", "ocpi.access", "uvicorn.error"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger("uvicorn.access").disabled = False


def test_a_filter_on_the_access_log_is_honoured():
    """The writer's short cut past ``logging`` is taken only when nothing on the way
    would look at the record: an operator's filter on ``ocpi.access`` still applies."""
    import io

    from ocpi import logs

    stream = io.StringIO()
    root = logging.getLogger()
    pytests = root.handlers[:]  # pytest's capture: as in ocpi serve, ours alone
    for other in pytests:
        root.removeHandler(other)
    handler = logs.configure(stream=stream)
    scope = {"method": "GET", "raw_path": b"/ocpi/versions", "query_string": b""}
    try:
        assert logs._straight_to(handler)  # the short cut is in use
        logs.access(scope, 200, time.perf_counter(), b"kept-1", b"kept-1")
        logs.ACCESS.addFilter(lambda record: "/secret-area" not in record.getMessage())
        assert not logs._straight_to(handler)
        for path in (b"/secret-area/x", b"/ocpi/2.2.1/details"):
            logs.access({**scope, "raw_path": path}, 200, time.perf_counter(), b"r", b"r")
    finally:
        logs.ACCESS.filters.clear()
        handler.close()
        root.removeHandler(handler)
        for other in pytests:
            root.addHandler(other)
        logs._current = None
        for name in ("ocpi", "ocpi.access", "uvicorn.error"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger("uvicorn.access").disabled = False
    text = stream.getvalue()
    assert "request_id=kept-1" in text and "/ocpi/2.2.1/details" in text
    assert "/secret-area" not in text


# --- flags -------------------------------------------------------------------------------

def test_no_access_log_silences_request_lines_only(tmp_path):
    with serving(tmp_path, "quiet", "--no-access-log") as node:
        for _ in range(3):
            httpx.get(f"{node.url}/ocpi/versions", headers={"Authorization": b64(OPERATOR)})
    text = node.stop()
    assert access_lines(text) == []
    assert "Application startup complete" in text  # the node's other lines remain


def test_settings_come_from_the_environment_too(tmp_path):
    """What every worker process reads: JSON, no access lines, warnings only."""
    env = {"OCPI_LOG_FORMAT": "json", "OCPI_ACCESS_LOG": "0", "OCPI_LOG_LEVEL": "warning"}
    with serving(tmp_path, "env", env=env) as node:
        httpx.get(f"{node.url}/ocpi/versions", headers={"Authorization": b64(OPERATOR)})
    text = node.stop()
    lines = json_lines(text)
    assert all(x["level"] in ("WARNING", "ERROR", "CRITICAL") for x in lines), lines
    assert access_lines(text) == []


def test_the_access_log_keeps_its_lines_at_a_quieter_level(tmp_path):
    with serving(tmp_path, "warn", "--log-level", "warning", "--log-format", "json") as node:
        httpx.get(f"{node.url}/ocpi/versions/%0aFAKE%20LINE",
                  headers={"Authorization": b64(OPERATOR)})
    text = node.stop()
    assert "Application startup complete" not in text  # uvicorn's INFO lines are gone
    lines = json_lines(text)
    [odd] = [x for x in lines if "FAKE" in x.get("path", "")]
    assert odd["path"] == "/ocpi/versions/%0aFAKE%20LINE" and odd["status"] == 404


def test_a_bad_log_flag_is_a_clear_error():
    r = subprocess.run([*OCPI, "serve", "--database", "sqlite:///:memory:"],
                       capture_output=True, text=True, timeout=60,
                       env={**ENV, "OCPI_LOG_FORMAT": "xml"})
    assert r.returncode != 0 and "log format must be one of text, json" in r.stderr


# --- one grep --------------------------------------------------------------------------

LOCATION = {
    "country_code": "NL", "party_id": "OCP", "publish": True, "address": "Street 1",
    "city": "Town", "country": "NLD", "time_zone": "Europe/Amsterdam",
    "coordinates": {"latitude": "52.100000", "longitude": "4.100000"},
    "evses": [{"uid": "EVSE1", "status": "AVAILABLE", "last_updated": "2026-11-20T10:00:00Z",
               "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                               "power_type": "AC_3_PHASE", "max_voltage": 400,
                               "max_amperage": 32, "last_updated": "2026-11-20T10:00:00Z"}]}],
    "last_updated": "2026-11-20T10:00:00Z"}


@pytest.mark.parametrize("fmt,backend", [c for c in (("text", "sqlite"), ("json", "sqlite"),
                                                       ("json", "postgresql"))
                                         if c[1] in BACKENDS])
def test_one_grep_of_a_correlation_id_shows_a_write_to_each_delivery(tmp_path, fmt, backend):
    """An operator's PUT of a Location: its request line, then each attempt to deliver
    it (refused once with a 503, then accepted) carry the request's correlation id,
    which the partner is sent too. A correlation id too long to be the messages' own
    (a UUID with dashes) is linked to theirs by the line that queued them; a message
    the partner refuses is set aside with the same ids."""
    attempts: dict[str, int] = {}

    def partner(method: str, path: str, body: Any) -> Any:
        attempts[path] = attempts.get(path, 0) + 1
        if path.endswith("/LOC1") and attempts[path] == 1:
            return (503, 3000)
        if path.endswith("/LOC3"):
            return (400, 2001)
        return None

    db = None
    if backend == "postgresql":
        asyncio.run(reset_postgres())
        db = PG_URL
    with Receiver(refuse=partner) as receiver, serving(tmp_path, "node", "--log-format",
                                                       fmt, db=db) as node:
        async def register() -> None:
            db = Database(node.db)
            try:
                await receiving_partner(db, receiver.url, "DE", "MSP")
            finally:
                await db.dispose()
        asyncio.run(register())

        op = {"Authorization": b64(OPERATOR)}
        long_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
        with httpx.Client(base_url=node.url, timeout=10) as http:
            for loc, corr in (("LOC1", "trace-0001"), ("LOC2", long_id), ("LOC3", "trace-0003")):
                r = http.put(f"/ocpi/cpo/2.2.1/locations/NL/OCP/{loc}",
                             json={**LOCATION, "id": loc},
                             headers={**op, "X-Correlation-ID": corr})
                assert r.json()["status_code"] == 1000, r.text
        receiver.wait_for(lambda r: len(r.accepted) == 2)
        eventually(lambda: "set aside" in node.text())
    text = node.stop()

    def grep(needle: str) -> list[str]:
        return [line for line in text.splitlines() if needle in line]

    first = grep("trace-0001")
    assert len(first) == 3, first  # the request, the refused attempt, the delivery
    assert "PUT /ocpi/cpo/2.2.1/locations/NL/OCP/LOC1" in first[0]
    assert "not accepted, tried again" in first[1] and "HTTP 503" in first[1]
    assert "delivered message" in first[2] and "nl/ocp/loc1" in first[2].lower()
    if fmt == "json":
        tried, done = json.loads(first[1]), json.loads(first[2])
        assert (tried["attempt"], done["attempt"]) == (1, 2)
        assert tried["message_id"] == done["message_id"] and done["partner"] == "de-msp"
        assert (done["party"], done["method"]) == ("DE/MSP", "PUT")
    else:
        assert "attempt=1" in first[1] and "attempt=2" in first[2]
        assert "partner=de-msp" in first[2] and "method=PUT" in first[2]
    sent = {m.correlation_id for m in receiver.accepted if m.path.endswith("/LOC1")}
    assert sent == {"trace-0001"}  # the partner can follow it too

    second = grep(long_id)
    assert len(second) == 2, second  # the line that queued its message, and the request's
    queued, request = second
    assert "outbox: queued 1 message(s) of locations nl/ocp/loc2 for de-msp" in queued.lower()
    assert "PUT /ocpi/cpo/2.2.1/locations/NL/OCP/LOC2" in request
    own = re.search(r'"?correlation_id"?[=:]"?([0-9a-f]{32})', queued)
    assert own is not None
    delivered = grep(own.group(1))
    assert any("delivered message" in line and "loc2" in line.lower() for line in delivered)

    third = grep("trace-0003")
    assert len(third) == 2 and "refused message" in third[1] and "set aside" in third[1]


# --- handshakes -----------------------------------------------------------------------

@pytest.mark.usefixtures("local_partners")
async def test_a_handshake_is_logged_as_one_flow_without_its_tokens(database_url, caplog):
    """``ocpi peers register``'s work: a line when it starts, one when it is done (or
    failed, with the reason), every call it made under the one correlation id on them."""
    from ocpi.peers import handshake
    from ocpi.peers.registry import Registry

    from .servers import PeerMock, ServerThread
    from .test_pull import US

    caplog.set_level(logging.INFO, logger="ocpi.handshake")
    mock = PeerMock(party=("NL", "MCK", "CPO"))
    db = Database(database_url)
    try:
        with ServerThread(mock.app) as url:
            mock.url = url
            peer = await handshake.register(Registry(db), US, f"{url}/versions?key=QSECRET",
                                            "token-a-SECRET", role="CPO")
            with pytest.raises(handshake.HandshakeError):
                await handshake.register(Registry(db), US, "http://127.0.0.1:9/versions",
                                         "token-a-SECRET-2", role="CPO")
    finally:
        await db.dispose()
    lines = [r for r in caplog.records if r.name == "ocpi.handshake"]
    assert [r.getMessage().split(" http")[0] for r in lines] == \
        ["handshake: registering with", "handshake: registering with nl-mck-cpo done",
         "handshake: registering with", "handshake: registering with"]
    start, done, _, failed = (r.__dict__["fields"] for r in lines)
    flow = start["correlation_id"]
    assert (done["correlation_id"], done["peer_id"]) == (flow, peer.id)
    assert (done["party"], done["state"], done["version"]) == ("NL/MCK", "registered", "2.3.0")
    assert {r["headers"]["x-correlation-id"] for r in mock.requests} == {flow}
    assert "failed: " in lines[3].getMessage() and "cannot" in lines[3].getMessage()
    assert failed["correlation_id"] != flow
    text = caplog.text + " ".join(r.getMessage() for r in lines)
    for secret in ("token-a-SECRET", "QSECRET", mock.given_token, peer.token_out or "-"):
        assert secret not in text
