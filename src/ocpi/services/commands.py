"""Commands across the node (OCPI 2.2.1/2.3.0 section 13, 2.1.1 "Commands
module"): the CPO's result of a command, its timeout, and the eMSP sending one.

- ``report_result``: the Charge Point's result of a command a partner sent us,
  recorded once (pending -> done, a guarded UPDATE) and queued in the same
  transaction as an outbox ``callback`` to the eMSP's ``response_url``: FIFO
  with that partner's other messages and retried until it is accepted.
- ``sweep``: a command whose result did not come before its ``timeout_at``
  (the database says when, so a restart or a SIGKILL loses none) gets exactly
  one TIMEOUT the same way. ``attach`` runs it in the app's lifespan, once at
  start and every ``OCPI_COMMAND_SWEEP_SECONDS`` (default 2).
- ``send``: the eMSP's command to a CPO, with our stored token rendered in the
  partner's version and a ``response_url`` of ours carrying an unguessable id;
  the CPO's immediate CommandResponse is stored. The result arrives at
  ``modules/commands/module.post_result``.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select

from ..core.db_health import HEALTH
from ..core.enums import ModuleID, RoleEnum
from ..core.interface import module_path
from ..core.lifespan import every, serve_alongside
from ..core.transport import validation_message
from ..modules import remote as rec
from ..modules.commands.schemas import (
    RESULTS,
    display,
    request_model,
    result_as_211,
)
from ..modules.remote import ASKING, CPO, DONE, EMSP, PENDING, Command, Refused, records
from ..modules.tokens.declaration import DEFAULT_TYPE, TOKENS, token_call
from ..modules.versions.enums import is_v2_1
from ..outbox import calls
from ..peers.client import OcpiClient, PartnerError
from ..peers.peer import Peer
from ..store.database import Database, Tx
from ..store.sql_store import SqlStore

log = logging.getLogger("ocpi.commands")
WITH_TOKEN = frozenset({"START_SESSION", "RESERVE_NOW"})
# what we sent: awaited for the timeout the partner gave, else (2.1.1 gives none, or the
# answer was lost) SENDER_WAIT; closed as TIMEOUT SENDER_GRACE later (its TIMEOUT may
# be on the way)
SENDER_WAIT = timedelta(minutes=30)
SENDER_GRACE = timedelta(minutes=5)
MAX_WAIT_SECONDS = 86_400


# --- the CPO: results, queued to the eMSP --------------------------------------------

def result_body(version: str, result: str, message: list[dict[str, Any]] | None
                ) -> dict[str, Any]:
    """What the CPO POSTs to the response_url: a CommandResult (2.2+), or 2.1.1's
    CommandResponse, whose values are fewer."""
    if is_v2_1(version):
        return {"result": result_as_211(result)}
    return {"result": result, **({"message": message} if message else {})}


async def _queue(tx: Tx, found: Command, result: str,
                 message: list[dict[str, Any]] | None) -> int | None:
    """The result as an outbox callback, in the caller's transaction."""
    if found.peer_id is None:  # a caller our registry does not know: nobody to tell
        return None
    return await calls.enqueue_in(tx, found.peer_id, ModuleID.commands.value,
                                  result_body(found.version, result, message),
                                  url=found.response_url, to_party=found.party)


async def report_result(db: Database, command_id: int, result: str,
                        message: Any = None) -> Command:
    """Record the one result of a command a partner sent us and queue it to them.

    ``message`` is text, a DisplayText or a list of them."""
    result = result.upper()
    if result not in RESULTS:
        raise ValueError(f"{result!r} is not a CommandResult ({', '.join(RESULTS)})")
    shown = display(message)
    async with db.begin() as tx:
        found = await rec.get(tx, command_id)
        if found is None or found.role != CPO or found.module != ModuleID.commands:
            raise Refused(f"no command {command_id} from a partner")
        if found.state == ASKING:
            raise Refused(f"command {command_id} is not answered yet: report its result "
                          "after the command handler returned")
        if found.state == DONE or not await rec.finish(tx, command_id, (PENDING,), result,
                                                       shown):
            had = found.result or f"not accepted: {(found.response or {}).get('result')}"
            raise Refused(f"command {command_id} has its result already ({had})")
        await _queue(tx, found, result, shown)
    return await get(db, command_id)


async def sweep(db: Database, *, at: datetime | None = None, limit: int = 500) -> list[int]:
    """Give each expired pending command its one TIMEOUT (queued to the eMSP), close
    the expired charging profile requests, and the requests whose hook never answered;
    close what we sent that no result came for, ``SENDER_GRACE`` after its timeout.
    The commands' TIMEOUT ids."""
    at = at or rec.now()
    r = records
    async with db.begin() as tx:
        due = [Command.from_row(row) for row in (await tx.execute(select(r).where(
            r.c.state.in_([ASKING, PENDING]),
            or_(and_(r.c.role == CPO, r.c.timeout_at <= at),
                and_(r.c.role == EMSP, r.c.timeout_at <= at - SENDER_GRACE)))
            .order_by(r.c.timeout_at).limit(limit))).all()]
    timed_out = []
    message = display("no result from the Charge Point in time")
    for found in due:  # each claimed by its own guarded UPDATE: one sweeper wins it
        async with db.begin() as tx:
            if found.role == EMSP:  # ours, sent: the partner's result (or TIMEOUT) never
                # came, even after the grace its own sweeper needs; no longer awaited
                await rec.finish(tx, found.id, (ASKING, PENDING), "TIMEOUT", display(
                    "no result from the partner in time"), at)
            elif found.state == ASKING:  # the eMSP had no answer: it expects no result
                await rec.move(tx, found.id, (ASKING,), state=DONE, finished_at=at,
                               response=rec.dumps({"error": "the handler never answered"}))
            elif found.module != ModuleID.commands:  # a charging profile request: its
                # sender assumes no result will come once the timeout passed (no TIMEOUT
                # value exists there); the record alone says it
                await rec.finish(tx, found.id, (PENDING,), "TIMEOUT", None, at)
            elif await rec.finish(tx, found.id, (PENDING,), "TIMEOUT", message, at):
                await _queue(tx, found, "TIMEOUT", message)
                timed_out.append(found.id)
    return timed_out


def attach(app: Any) -> None:
    """Sweep while the app runs: once before it serves (what expired while the node was
    down), then every ``OCPI_COMMAND_SWEEP_SECONDS`` (default 2). Several processes may
    sweep: each TIMEOUT is claimed by one guarded UPDATE."""
    db = app.state.node.db
    try:
        seconds = max(float(os.environ.get("OCPI_COMMAND_SWEEP_SECONDS", "2")), 0.1)
    except ValueError:
        seconds = 2.0

    async def sweep_round() -> None:
        await sweep(db)

    async def first_round() -> None:  # a failed one never stops the node from starting
        try:
            await sweep(db)
        except Exception as exc:
            if not HEALTH.failed_in_background(exc):
                log.exception("command timeout sweep at start failed")

    serve_alongside(app, "command-sweeper",
                    every(seconds, sweep_round, log, "command timeout sweep", wait_first=True),
                    before=first_round)


# --- the eMSP: sending ----------------------------------------------------------------

async def _our_token(db: Database, uid: str, token_type: str, version: str
                     ) -> dict[str, Any]:
    token = await SqlStore(db).get(ModuleID.tokens, RoleEnum.emsp, uid,
                                   **token_call(token_type))
    if token is None:
        raise ValueError(f"we hold no token {token_type}:{uid} (ocpi import tokens)")
    return TOKENS.to_wire(token, version)


async def send(db: Database, peer: Peer, command: str, fields: dict[str, Any], *,
               base_url: str, from_party: tuple[str, str] | None = None) -> Command:
    """Send ``command`` to the CPO ``peer``; the stored command with its answer.

    ``fields`` are the request's own (``location_id``, ``session_id``...); for
    START_SESSION and RESERVE_NOW ``token_uid`` (and ``token_type``, RFID when
    unset) name our stored token. ``base_url`` is ours as partners reach us."""
    command = command.upper()
    version = peer.version or "2.2.1"
    model = request_model(command, version)
    if model is None:
        raise ValueError(f"{command} is not a command of OCPI {version} ({peer.name})")
    if peer.state != "registered" or not peer.token_out:
        raise ValueError(f"{peer.name} is not registered")
    endpoint = peer.endpoint("commands", "RECEIVER")
    if endpoint is None:
        raise ValueError(f"{peer.name} has no commands receiver endpoint")
    body = {k: v for k, v in fields.items()
            if v is not None and k not in ("token_uid", "token_type")}
    if command in WITH_TOKEN:
        if not fields.get("token_uid"):
            raise ValueError(f"{command} needs our token's uid")
        body["token"] = await _our_token(db, str(fields["token_uid"]),
                                         str(fields.get("token_type") or DEFAULT_TYPE),
                                         version)
    if is_v2_1(version):  # what 2.1.1 cannot carry is left out; its reservation id is a number
        body = {k: v for k, v in body.items() if k != "authorization_reference"
                and (k != "connector_id" or command != "START_SESSION")}
        if "reservation_id" in body:
            try:
                body["reservation_id"] = int(body["reservation_id"])
            except ValueError:
                raise ValueError("reservation_id: OCPI 2.1.1 wants a number") from None
    uid = secrets.token_urlsafe(24)
    body["response_url"] = (f"{base_url.rstrip('/')}"
                            f"{module_path(ModuleID.commands, version, RoleEnum.emsp)}"
                            f"/{command}/{uid}")
    try:
        model.model_validate(body, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    async with db.begin() as tx:  # stored first: a fast result finds it
        command_id = await rec.insert_one(
            tx, module=ModuleID.commands.value, role=EMSP, peer_id=peer.id, command=command,
            version=version, uid=uid,
            response_url=body["response_url"], request=body, state=ASKING,
            authorization_reference=body.get("authorization_reference"), created_at=rec.now(),
            timeout_at=rec.now() + SENDER_WAIT)  # closed even if we die mid-request
    await ask_partner(db, peer, command_id, "POST", f"{endpoint.rstrip('/')}/{command}",
                      body=body, module=ModuleID.commands.value, from_party=from_party,
                      what="CommandResponse")
    return await get(db, command_id)


async def ask_partner(db: Database, peer: Peer, request_id: int, method: str, url: str, *,
                      module: str, what: str, body: Any = None,
                      params: dict[str, Any] | None = None,
                      from_party: tuple[str, str] | None = None) -> None:
    """Send a recorded request (``asking``) and record the partner's immediate answer:
    ACCEPTED waits for its result until the ``timeout`` it gave (else ``SENDER_WAIT``),
    anything else is done; a lost answer (the request may have arrived) waits too."""
    wait = SENDER_WAIT
    try:
        async with OcpiClient.for_peer(peer, from_party) as client:
            answer = await client.call(method, url, body=body, params=params, module=module)
        # a one-element list is read as its object; an answer that is none is said so
        response = answer.object() or {"error": f"no {what}: {answer.quoted()}"}
        accepted = response.get("result") == "ACCEPTED"
        timeout = response.get("timeout")
        if accepted and isinstance(timeout, int) and timeout > 0:
            wait = timedelta(seconds=min(timeout, MAX_WAIT_SECONDS))
    except PartnerError as exc:
        response = {"error": str(exc)}
        accepted = exc.retryable
    state, finished = (PENDING, None) if accepted else (DONE, rec.now())
    async with db.begin() as tx:
        if not await rec.move(tx, request_id, (ASKING,), state=state, finished_at=finished,
                              timeout_at=rec.now() + wait if accepted else None,
                              response=rec.dumps(response)):
            # its result came before this answer: keep the result
            await rec.move(tx, request_id, (DONE,), response=rec.dumps(response))


# --- both: reading -----------------------------------------------------------------------

async def get(db: Database, command_id: int) -> Command:
    return await rec.read(db, command_id, "command")


async def listing(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """Each command, newest first, both sides, with the partner's name."""
    return await rec.listing(db, ModuleID.commands.value, limit)
