"""Real-time authorization of a token, both sides, and its record.

The eMSP answers ``POST tokens/{uid}/authorize`` from its own stored token
and the operator's rules (``modules/tokens/module.py``). The CPO asks
(``authorize``): the token's ``whitelist`` says whether to ask the eMSP and
what to do when the eMSP cannot be reached:

=================  =====================  ==============================
whitelist          eMSP reachable         eMSP unreachable
=================  =====================  ==============================
ALWAYS             not asked: local       not asked: local
ALLOWED            asked                  local
ALLOWED_OFFLINE    asked                  local
NEVER              asked                  NOT_ALLOWED
token not held     asked                  NOT_ALLOWED
=================  =====================  ==============================

"Local" is the stored token's ``valid`` (ALLOWED, else BLOCKED). Every
decision is recorded; an ALLOWED one with the eMSP's reference is taken by
the session that follows (``reference_for_session``), which carries it as
``authorization_reference`` (on 2.1.1 as Gireve's ``authorization_id``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from ..core.enums import ModuleID, RoleEnum
from ..modules.tokens.declaration import DEFAULT_TYPE, authorizations, token_call
from ..modules.tokens.mapper import wire_type
from ..modules.tokens.records import Decision, now, record
from ..modules.versions.enums import is_v2_1
from ..peers.client import OcpiClient, PartnerError
from ..peers.registry import Peer
from ..store.database import Database
from ..store.keys import id_key
from ..store.sql_store import SqlStore

ASK_FIRST = frozenset({"ALLOWED", "ALLOWED_OFFLINE", "NEVER"})
LOCAL_WHEN_OFFLINE = frozenset({"ALLOWED", "ALLOWED_OFFLINE"})
# how long an authorization waits for its session to start
SESSION_WINDOW = timedelta(minutes=30)


def local_decision(token: dict[str, Any] | None, reason: str) -> Decision:
    if token is None:
        return Decision("NOT_ALLOWED", "local", reason=f"{reason}; token not held")
    allowed = "ALLOWED" if token.get("valid") else "BLOCKED"
    return Decision(allowed, "local", reason=reason, token=token)


def _location_references(version: str, location_id: str | None,
                         evse_uids: list[str]) -> dict[str, Any] | None:
    if location_id is None:
        return None
    refs: dict[str, Any] = {"location_id": location_id}
    if evse_uids:
        refs["evse_uids"] = evse_uids
    return refs


async def authorize(db: Database, peer: Peer, uid: str, *, token_type: str = DEFAULT_TYPE,
                    location_id: str | None = None, evse_uids: list[str] | None = None,
                    from_party: tuple[str, str] | None = None,
                    store: SqlStore | None = None) -> Decision:
    """The CPO's real-time authorization of ``uid`` with the eMSP ``peer``, recorded."""
    store = store or SqlStore(db)
    evse_uids = list(evse_uids or [])
    token = await store.get(ModuleID.tokens, RoleEnum.cpo, uid, **token_call(token_type))
    whitelist = token.get("whitelist") if token else None
    if whitelist == "ALWAYS":
        decision = local_decision(token, "whitelist ALWAYS: decided locally")
    else:
        decision = await _ask(peer, uid, token_type, location_id, evse_uids, from_party)
        if decision is None:  # unreachable
            if whitelist in LOCAL_WHEN_OFFLINE:
                decision = local_decision(token, f"eMSP unreachable; whitelist {whitelist}")
            else:
                why = f"whitelist {whitelist}" if whitelist else "token not held"
                decision = Decision("NOT_ALLOWED", "local",
                                    reason=f"eMSP unreachable; {why}: real-time only")
    held = decision.token or token or {}  # the eMSP's answer knows the owner best
    owner = (str(held["country_code"]), str(held["party_id"])) \
        if held.get("country_code") and held.get("party_id") else (peer.country_code,
                                                                  peer.party_id)
    await record(db, RoleEnum.cpo, decision, uid=uid, token_type=token_type,
                 token_owner=owner, peer_id=peer.id, location_id=location_id,
                 evse_uid=evse_uids[0] if evse_uids else None)
    return decision


async def _ask(peer: Peer, uid: str, token_type: str, location_id: str | None,
               evse_uids: list[str], from_party: tuple[str, str] | None) -> Decision | None:
    """The eMSP's answer; None when it cannot be reached (or answers 5xx/3xxx)."""
    if peer.state != "registered" or not peer.token_out or not peer.version:
        return None
    url = peer.endpoint("tokens", "SENDER")
    if url is None:
        return None
    version = peer.version
    target = f"{url.rstrip('/')}/{uid}/authorize?type={wire_type(token_type, version)}"
    body = _location_references(version, location_id, evse_uids)
    async with OcpiClient.for_peer(peer, from_party, retry_delay=0.2) as client:
        try:
            answer = await client.call("POST", target, body=body, module="tokens")
        except PartnerError as exc:
            if exc.status_code == 2004 or exc.http_status == 404:
                return Decision("NOT_ALLOWED", "emsp", known=False,
                                reason="the eMSP does not know the token")
            if exc.retryable:
                return None
            return Decision("NOT_ALLOWED", "emsp", reason=f"the eMSP refused: {exc.reason}")
    data = answer.object()
    if data is None or not data.get("allowed"):  # the eMSP's fault, said as such
        return Decision("NOT_ALLOWED", "emsp", reason="the eMSP's answer has no "
                        f"AuthorizationInfo: {answer.quoted()}")
    allowed = str(data["allowed"])
    reference = data.get("authorization_reference") if not is_v2_1(version) \
        else data.get("authorization_id")
    token = data.get("token") if isinstance(data.get("token"), dict) else None
    return Decision(allowed, "emsp", reference=str(reference) if reference else None,
                    info=data.get("info") if isinstance(data.get("info"), dict) else None,
                    token=token)


async def reference_for_session(db: Database, session: dict[str, Any]) -> dict[str, Any]:
    """``session`` carrying the reference of the authorization that preceded it.

    The newest ALLOWED authorization of its token (and Location, when the
    authorization named one) from the eMSP, not yet taken by another session and
    at most ``SESSION_WINDOW`` old, is linked to this session.
    """
    token = session.get("cdr_token")
    if session.get("authorization_reference") or not isinstance(token, dict) \
            or not token.get("uid"):
        return session
    a = authorizations
    since = now() - SESSION_WINDOW
    cond = [a.c.role == str(RoleEnum.cpo), a.c.uid == id_key(str(token["uid"])),
            a.c.type == str(token.get("type") or DEFAULT_TYPE).upper(),
            a.c.allowed == "ALLOWED", a.c.reference.is_not(None), a.c.created_at >= since]
    async with db.begin() as tx:
        rows = (await tx.execute(select(a.c.seq, a.c.reference, a.c.location_id, a.c.session_id)
                                 .where(*cond).order_by(a.c.seq.desc()).limit(20))).all()
        for seq, reference, location_id, taken in rows:
            if taken not in (None, session.get("id")):
                continue
            if location_id and session.get("location_id") and \
                    id_key(location_id) != id_key(str(session["location_id"])):
                continue
            await tx.execute(update(a).where(a.c.seq == seq).values(session_id=session["id"]))
            return {**session, "authorization_reference": reference}
    return session


def smappee_hook(db: Database) -> Any:
    """The Smappee connector's ``authorizations`` hook: the authorization on record
    for a card, as {country_code, party_id, authorization_reference}."""
    async def lookup(rfid: str, started_ms: str) -> dict[str, Any] | None:
        a = authorizations
        async with db.begin() as tx:
            row = (await tx.execute(select(a.c.reference, a.c.token_country_code,
                                           a.c.token_party_id)
                                    .where(a.c.role == str(RoleEnum.cpo),
                                           a.c.uid == id_key(rfid), a.c.allowed == "ALLOWED",
                                           a.c.created_at >= now() - SESSION_WINDOW)
                                    .order_by(a.c.seq.desc()).limit(1))).first()
        if row is None or not row[1]:
            return None
        return {"country_code": row[1], "party_id": row[2], "authorization_reference": row[0]}

    return lookup
