"""The delivery worker: FIFO per partner, retried until the partner says yes.

Each partner's queue is drained by one task holding that partner's lease.
The head message is sent until it is accepted (HTTP 2xx with an OCPI 1xxx
status) or refused (4xx, or a 2xxx status: set aside as dead, the queue goes
on). Anything else (timeout, connection error, 5xx, 3xxx) holds the queue and
is retried with capped exponential backoff and jitter, with the same
correlation id every time. A message to a hub for a party the hub reports
OFFLINE waits out of the queue, one SUSPENDED is set aside (``held``).
"""

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import logs
from ..core.db_health import HEALTH
from ..modules.kernel import ObjectType
from ..modules.registry import object_type
from ..peers.client import OcpiClient, PartnerError
from ..peers.registry import Peer, Registry
from ..store.database import Database
from ..store.sql_store import SqlStore
from . import held
from .leases import Leases, new_holder
from .queue import Had, Message, Queue, now
from .render import Push, Unrenderable, public, put, render

STOP_GRACE = 5.0  # seconds a stopping worker gives a message in flight

log = logging.getLogger("ocpi.outbox")


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass
class Backoff:
    """Capped exponential backoff with jitter (half to full delay)."""

    base: float = field(default_factory=lambda: _env_float("OCPI_OUTBOX_RETRY_BASE", 1.0))
    cap: float = field(default_factory=lambda: _env_float("OCPI_OUTBOX_RETRY_MAX", 300.0))
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        full = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return full * (0.5 + self.rng.random() / 2)


@dataclass
class Counters:
    """Since this worker started; the queue's own figures come from the database."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0


def _about(peer: Peer, head: Message, msg: Message | None = None, **more: Any
           ) -> dict[str, Any]:
    """A delivery log line's fields: whom, which message, and the X-Correlation-ID sent
    (the head's; in latest-state the newest message of its object is what goes, with
    its own correlation id named too, so a grep of either finds the delivery)."""
    fields: dict[str, Any] = {
        "partner": peer.name, "party": f"{peer.country_code}/{peer.party_id}",
        "peer_id": peer.id, "message_id": head.seq, "module": head.module,
        "object": head.object_key, "attempt": head.attempts + 1,
        "correlation_id": head.correlation_id}
    if msg is not None and msg.seq != head.seq:
        fields["up_to_message_id"] = msg.seq
        if msg.correlation_id != head.correlation_id:
            fields["carried_correlation_id"] = msg.correlation_id
    fields.update(more)
    return logs.kv(**fields)


def _delivered(peer: Peer, head: Message, msg: Message, method: str) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info("outbox: delivered message %s (%s %s %s) to %s", head.seq, method,
                 head.module, head.object_key, peer.name,
                 extra=_about(peer, head, msg, method=method))


class _Held(Exception):
    """The head message must wait: stop draining this partner for now."""


class OutboxWorker:
    def __init__(self, db: Database, *, from_party: tuple[str, str] | None = None,
                 poll_interval: float | None = None, backoff: Backoff | None = None,
                 holder: str | None = None, batch: int = 200) -> None:
        self.db = db
        self.queue = Queue(db)
        self.registry = Registry(db)
        self.store = SqlStore(db)
        self.from_party = from_party
        self.poll_interval = poll_interval if poll_interval is not None else _env_float(
            "OCPI_OUTBOX_POLL", 1.0)
        self.backoff = backoff or Backoff()
        self.leases = Leases(db, holder or new_holder())
        self.batch = batch
        self.counters = Counters()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._pause: dict[int, float] = {}  # partners whose drain broke: not before (monotonic)
        # one open client per partner: a drain reuses its connection
        self._clients: dict[int, tuple[tuple[Any, ...], OcpiClient]] = {}
        # per partner being drained, what it has: only the drain holding its lease changes it
        self._had: dict[int, dict[tuple[str, str], Had | None]] = {}
        # per partner in latest-state: the newest message of a batch's objects, if newer
        self._newest: dict[int, dict[tuple[str, str], Message]] = {}
        # per hub being drained, its reports on the parties addressed, as first read: one
        # view per drain, so a party's messages go (or wait) in their order
        self._reports: dict[int, dict[tuple[str, str], str | None]] = {}
        self._held: dict[int, set[tuple[str, str]]] = {}  # parties with messages held
        self._wake = asyncio.Event()
        self._stopping = False  # drains finish the message in hand, then stop

    def wake(self) -> None:
        """New messages were written in this process: look now, not at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        self._stopping = False
        try:
            while not stop.is_set():
                self._wake.clear()  # before the scan: a write during it wakes us again
                try:
                    wait = await self.tick()
                except Exception as exc:  # a database hiccup must not end delivery
                    if not HEALTH.failed_in_background(exc, self.db.ping):
                        log.exception("outbox: scanning the queue failed")
                    wait = self.poll_interval
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=wait,
                                   return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Each drain finishes (and records) the message in hand, for up to
        ``STOP_GRACE`` seconds, then stops: a message the partner accepted is not
        left pending to go again at the next start."""
        self._stopping = True
        tasks = list(self._running.values())
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, client in self._clients.values():
            await client.__aexit__(None, None, None)
        self._clients.clear()
        await self.leases.release_all()

    async def tick(self) -> float:
        """Start a drain for every partner whose head is due; seconds until the next."""
        wait = self.poll_interval
        current, clock = now(), time.monotonic()
        waiting = await held.due(self.db)
        for peer_id, due in self._merged(await self.queue.heads(), waiting):
            if peer_id in self._running:
                continue
            if due is not None and due > current:
                wait = min(wait, (due - current).total_seconds())
                continue
            later = max(self.leases.blocked.get(peer_id, 0.0), self._pause.get(peer_id, 0.0))
            if later > clock:  # another worker holds it, or its last drain broke
                wait = min(wait, later - clock)
                continue
            task = asyncio.create_task(self._drain(peer_id, review=peer_id in waiting))
            self._running[peer_id] = task
            task.add_done_callback(self._drained(peer_id))
        return max(wait, 0.0)

    @staticmethod
    def _merged(heads: list[tuple[int, datetime | None]],
                waiting: dict[int, datetime | None]) -> list[tuple[int, datetime | None]]:
        """Each partner's earliest due: its queue's head, or a held message whose
        party's report is to be read again (``None``: now)."""
        due = dict(heads)
        for peer_id, at in waiting.items():
            if peer_id not in due:
                due[peer_id] = at
            else:
                head = due[peer_id]
                due[peer_id] = None if head is None or at is None else min(head, at)
        return list(due.items())

    def _drained(self, peer_id: int) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._running.pop(peer_id, None)
            if not task.cancelled() and (exc := task.exception()) is not None:
                if not HEALTH.failed_in_background(exc, self.db.ping):
                    log.error("outbox: delivery to partner %s failed", peer_id, exc_info=exc)
                self._pause[peer_id] = time.monotonic() + self.poll_interval  # no spinning
            self._wake.set()
        return done

    async def drain_once(self) -> None:
        """Deliver everything due now and return (``ocpi outbox work --once``, tests);
        leases and connections are given up at the end."""
        self._stopping = False
        try:
            while True:
                await self.tick()
                if not self._running:
                    return
                await asyncio.gather(*list(self._running.values()), return_exceptions=True)
        finally:
            await self.shutdown()

    # --- one partner ---------------------------------------------------------------

    async def _drain(self, peer_id: int, review: bool = False) -> None:
        if not await self.leases.claim(peer_id):
            return
        try:
            peer = await self.registry.get_by_id(peer_id)
            if peer is not None and (review or peer.is_hub):  # held ones back when due
                self._held[peer_id] = await held.review(
                    self.db, peer_id, (peer.country_code, peer.party_id))
            if peer is None or peer.state != "registered" or not peer.token_out:
                state = peer.state if peer else "gone"
                await self.queue.hold(peer_id, f"partner is {state}; messages are kept",
                                      self.backoff.cap)
                return
            await self._send_all(peer, await self._client(peer))
        except _Held:
            pass
        finally:
            self._had.pop(peer_id, None)
            self._newest.pop(peer_id, None)
            self._reports.pop(peer_id, None)
            self._held.pop(peer_id, None)

    async def _client(self, peer: Peer) -> OcpiClient:
        """The partner's open client, new when its token, version or profile changed."""
        key = (peer.token_out, peer.version, peer.profile.to_json())
        cached = self._clients.get(peer.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        if cached is not None:
            await cached[1].__aexit__(None, None, None)
        client = await OcpiClient.for_peer(peer, self.from_party).__aenter__()
        self._clients[peer.id] = (key, client)
        return client

    async def _send_all(self, peer: Peer, client: OcpiClient) -> None:
        # one message may take two calls (a PATCH the partner cannot place, then a PUT)
        needed = 2 * peer.profile.effective_timeout() + 5
        after = 0
        done_through: dict[tuple[str, str], int] = {}
        self._had[peer.id] = {}
        self._reports[peer.id] = {}
        while True:
            batch = await self.queue.pending(peer.id, self.batch, after)
            if not batch:
                return
            await self._know(peer.id, batch)
            self._newest[peer.id] = {} if peer.profile.delivery == "every-message" else \
                await self.queue.newest(peer.id, batch)
            for msg in batch:
                if self._stopping:
                    raise _Held
                after = msg.seq
                if done_through.get((msg.module, msg.object_key), 0) >= msg.seq:
                    continue  # carried by a newer message already sent
                if msg.next_attempt_at is not None and msg.next_attempt_at > now():
                    raise _Held
                if held.applies(peer.is_hub, msg) and await self._parked(peer, msg):
                    continue
                if not await self.leases.ensure(peer.id, needed):
                    raise _Held  # the lease ran out and another worker has the partner
                try:
                    sent = await self._deliver(peer, client, msg)
                except (_Held, asyncio.CancelledError):
                    raise
                except Exception as exc:  # our bug or a database error: hold, do not spin
                    if HEALTH.failed_in_background(exc, self.db.ping):
                        raise  # the database is gone: nothing can be recorded now
                    log.exception("outbox: message %s to %s could not be handled", msg.seq,
                                  peer.name, extra=_about(peer, msg))
                    await self.queue.retry_later(msg, f"internal error: {exc!r}",
                                                 self.backoff.delay(msg.attempts + 1))
                    raise _Held from None
                done_through[(msg.module, msg.object_key)] = sent

    async def _parked(self, peer: Peer, msg: Message) -> bool:
        """Did ``msg`` wait (its party OFFLINE) or go aside (SUSPENDED) by the hub's
        report? A report that changed since this drain first read it ends the drain,
        so the next one puts the party's held messages back first, in order."""
        assert msg.to_party is not None
        hub = (peer.country_code, peer.party_id)
        known = self._reports[peer.id]
        if msg.to_party not in known:
            known[msg.to_party] = await held.status_of(self.db, hub, msg.to_party)
        if known[msg.to_party] not in (held.OFFLINE, held.SUSPENDED):
            if msg.to_party in self._held.get(peer.id, ()):
                # reachable, but older messages of the party are held: the next drain
                # puts them back first
                await held.wake(self.db, peer.id, msg.to_party)
                raise _Held
            return False
        status = await held.park(self.db, msg, hub)
        if status not in (held.OFFLINE, held.SUSPENDED):
            raise _Held
        known[msg.to_party] = status
        if status == held.OFFLINE:
            log.info("outbox: message %s to %s waits: %s", msg.seq, peer.name,
                     held.reason(msg.to_party, status), extra=_about(peer, msg))
        else:
            self.counters.dead += 1
            log.warning("outbox: message %s to %s set aside: %s", msg.seq, peer.name,
                        held.reason(msg.to_party, status), extra=_about(peer, msg))
        return True

    async def _deliver(self, peer: Peer, client: OcpiClient, head: Message) -> int:
        """Send ``head`` (or, in latest-state, the newest state of its object).

        Returns the seq up to which the object's messages are settled; raises
        ``_Held`` when the partner must be retried later.
        """
        if head.kind != "state":
            return await self._call(peer, client, head)
        msg = self._newest.get(peer.id, {}).get((head.module, head.object_key), head)
        if msg.seq < head.seq:  # never an older state than the head's
            msg = head
        obj, known = (msg.module, msg.object_key), self._had[peer.id]
        if obj not in known:
            known[obj] = await self.queue.had(peer.id, msg.module, msg.object_key)
        had = known[obj]
        if had is not None and had.last_updated > msg.last_updated:
            await self.queue.settle(msg, accepted=None)  # never older over newer
            log.debug("outbox: message %s to %s not sent: the partner has a newer state",
                      head.seq, peer.name, extra=_about(peer, head, msg))
            return msg.seq
        new = public(msg.object())
        endpoint = peer.endpoint(msg.module, "RECEIVER")
        if endpoint is None:
            await self._refused(peer, head, msg, f"{peer.name} has no {msg.module} receiver "
                                "endpoint")
            return msg.seq
        version = client.version  # the negotiated one, as the client speaks it
        if msg.method == "DELETE":
            return await self._delete(peer, client, head, msg, endpoint, version, new)
        try:
            location = await self._context(object_type(msg.module), version, new)
            push = render(msg.module, version, endpoint, new,
                          had.data if had else None, always_put=peer.profile.always_put,
                          location=location, explicit_nulls=peer.profile.explicit_nulls)
        except (LookupError, Unrenderable) as exc:  # never holds the partner's queue
            await self._refused(peer, head, msg, f"cannot be rendered: {exc}")
            return msg.seq
        if push is None:  # nothing the partner can see has changed
            await self._settle(msg, new)
            log.debug("outbox: message %s to %s not sent: nothing it sees changed", head.seq,
                      peer.name, extra=_about(peer, head, msg))
            return msg.seq
        error = await self._try(client, push, msg, head.correlation_id)
        if error is not None and push.method == "PATCH" and (
                error.http_status == 404 or error.status_code == 2003):
            # the partner lost the object: send it whole, now
            await self.queue.forget(peer.id, msg.module, msg.object_key)
            known[obj] = None
            push = put(msg.module, version, endpoint, new, location,
                       explicit_nulls=peer.profile.explicit_nulls)
            error = await self._try(client, push, msg, head.correlation_id)
        if error is not None:
            return await self._failed(peer, head, msg, error)
        await self._settle(msg, new)
        self.counters.delivered += 1
        _delivered(peer, head, msg, push.method)
        return msg.seq

    async def _delete(self, peer: Peer, client: OcpiClient, head: Message, msg: Message,
                      endpoint: str, version: str, gone: dict[str, Any]) -> int:
        """The object was removed: DELETE at its URL; the partner then has nothing."""
        try:
            url = endpoint.rstrip("/") + object_type(msg.module).url_path(gone, version)
        except (LookupError, KeyError) as exc:
            await self._refused(peer, head, msg, f"cannot be rendered: {exc!r}")
            return msg.seq
        error = await self._try(client, Push("DELETE", url, {}), msg, head.correlation_id)
        if error is not None and error.http_status != 404:  # gone already is done
            return await self._failed(peer, head, msg, error)
        await self.queue.settle(msg, accepted=None)
        await self.queue.forget(peer.id, msg.module, msg.object_key)
        self._had[peer.id][(msg.module, msg.object_key)] = None
        self.counters.delivered += 1
        _delivered(peer, head, msg, "DELETE")
        return msg.seq

    async def _call(self, peer: Peer, client: OcpiClient, msg: Message) -> int:
        """A one-off request (a call to the module's endpoint, or a callback to the URL
        the partner gave): sent until accepted, then kept with its answer."""
        if msg.kind == "callback":
            url = msg.url or ""
        else:
            endpoint = peer.endpoint(msg.module, "RECEIVER")
            if endpoint is None:
                await self._refused(peer, msg, msg, f"{peer.name} has no {msg.module} "
                                    "receiver endpoint")
                return msg.seq
            url = endpoint.rstrip("/") + (msg.url or "")
        try:
            body = await self._call_body(peer, client.version, msg)
        except (LookupError, Unrenderable) as exc:  # never holds the partner's queue
            await self._refused(peer, msg, msg, f"cannot be rendered: {exc}")
            return msg.seq
        try:
            owner = msg.object_key.split("/", 2)  # ours: OCPI-from is the object's owner
            answer = await client.call(msg.method or "POST", url, body=body,
                                       from_party=(owner[0], owner[1])
                                       if msg.of_own_object else None,
                                       module=msg.module, to_party=msg.to_party,
                                       correlation_id=msg.correlation_id)
        except PartnerError as error:
            return await self._failed(peer, msg, msg, error)
        await self.queue.answered(msg, answer.data, answer.headers.get("location"))
        self.counters.delivered += 1
        _delivered(peer, msg, msg, msg.method or "POST")
        return msg.seq

    async def _call_body(self, peer: Peer, version: str, msg: Message) -> Any:
        """What a call sends: one of our own objects posted once (a CDR, queued under its
        key by the publishing write) is rendered in the partner's version, as a state
        message is; any other body (``calls.enqueue``) goes as queued."""
        if not msg.data:
            return None
        if not msg.of_own_object:
            return msg.object()
        decl = object_type(msg.module)  # LookupError: set aside, never a queue held
        new = public(msg.object())
        location = await self._context(decl, version, new)
        return put(msg.module, version, "", new, location,
                   explicit_nulls=peer.profile.explicit_nulls).body

    async def _failed(self, peer: Peer, head: Message, msg: Message,
                      error: PartnerError) -> int:
        """Retried later (the queue waits) or, when refused, set aside."""
        if error.retryable:
            self.counters.retried += 1
            delay = self.backoff.delay(head.attempts + 1)
            await self.queue.retry_later(head, str(error), delay)
            log.warning("outbox: message %s to %s not accepted, tried again in %.1fs: %s",
                        head.seq, peer.name, delay, error,
                        extra=_about(peer, head, msg, retry_in_s=round(delay, 1)))
            raise _Held
        await self._refused(peer, head, msg, str(error))
        return msg.seq

    async def _settle(self, msg: Message, new: dict[str, Any]) -> None:
        await self.queue.settle(msg, accepted=msg.data)
        self._had[msg.peer_id][(msg.module, msg.object_key)] = Had(msg.last_updated, new)

    async def _know(self, peer_id: int, batch: list[Message]) -> None:
        """What the partner has of a batch's objects, read in one query, not one each."""
        known = self._had.setdefault(peer_id, {})
        wanted = {(m.module, m.object_key) for m in batch
                  if m.kind == "state" and (m.module, m.object_key) not in known}
        if wanted:
            known.update(await self.queue.had_many(peer_id, wanted))

    async def _try(self, client: OcpiClient, push: Push, msg: Message,
                   correlation_id: str) -> PartnerError | None:
        try:
            owner = msg.object_key.split("/", 2)
            await client.call(push.method, push.url, body=push.body, module=msg.module,
                              to_party=msg.to_party, correlation_id=correlation_id,
                              from_party=(owner[0], owner[1]))
        except PartnerError as exc:
            return exc
        return None

    async def _refused(self, peer: Peer, head: Message, msg: Message, reason: str) -> None:
        self.counters.dead += 1
        log.warning("outbox: %s refused message %s (%s %s); set aside: %s", peer.name,
                    msg.seq, msg.module, msg.object_key, reason,
                    extra=_about(peer, head, msg))
        await self.queue.dead(msg, reason, with_older=msg.seq != head.seq)

    async def _context(self, decl: ObjectType, version: str, data: dict[str, Any]
                       ) -> dict[str, Any] | None:
        """What the object's form in ``version`` embeds, as stored now (a 2.1.1
        Session's Location)."""
        if decl.load_context is None or not decl.needs_context(data, version):
            return None

        async def get(module: Any, id: str, cc: str | None, pid: str | None) -> Any:
            return await self.store.get(module, decl.own_role, id, country_code=cc,
                                        party_id=pid)

        return await decl.load_context(get, data)
