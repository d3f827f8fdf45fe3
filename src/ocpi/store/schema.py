"""Tables: key columns for lookups and filters, the object itself as JSON text.

Key columns hold normalised keys (upper-case country/party, case-folded id:
OCPI ids are CiStrings); the JSON keeps the object exactly as received.
Timestamps are naive UTC so SQLite and PostgreSQL compare them alike.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
)

metadata = MetaData()

_Seq = BigInteger().with_variant(Integer(), "sqlite")


def object_table(name: str, *extra: Column) -> Table:
    """An object type's table: key columns, ``extra`` indexed columns, the JSON.

    Declared by each module (``modules/<name>/declaration.py``), not here: the
    store holds whatever the module kernel registers."""
    return Table(
        name,
        metadata,
        Column("seq", _Seq, primary_key=True, autoincrement=True),
        # the interface side the row belongs to: the declaration's own role is ours
        Column("role", String(8), nullable=False),
        Column("country_code", String(2), nullable=False),  # the owning party
        Column("party_id", String(3), nullable=False),
        Column("id", String(64), nullable=False),  # the key (composite keys joined)
        Column("last_updated", DateTime(), nullable=False),
        *extra,
        Column("data", Text, nullable=False),
        # versions whose wire form is ``data`` itself: list pages splice the text
        Column("wire_versions", String(32)),
        UniqueConstraint("role", "country_code", "party_id", "id", name=f"uq_{name}_key"),
        Index(f"ix_{name}_role_updated", "role", "last_updated"),
        Index(f"ix_{name}_role_id", "role", "id"),
        Index(f"ix_{name}_role_seq", "role", "seq"),  # list pages walk this, not the rows
    )


# how many objects each role has: a list page's X-Total-Count without a count(*)
# over 100,000 rows; kept in the writing transaction for the node's own (CPO) rows
object_counts = Table(
    "object_counts",
    metadata,
    Column("module", String(24), primary_key=True),
    Column("role", String(8), primary_key=True),
    Column("n", BigInteger, nullable=False),
)



def _start_counts(target: Table, connection: Any, **kw: Any) -> None:
    """A new database starts with nothing listed, for every registered object type
    (migrations count an old one)."""
    from .objects import STORED

    rows = [{"module": t.name, "role": t.own_role, "n": 0} for t in STORED.values()]
    if rows:
        connection.execute(target.insert(), rows)


event.listen(object_counts, "after_create", _start_counts)

peers = Table(
    "peers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    # the party it was invited or registered as; ``parties`` holds all of them
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("role", String(8), nullable=False),
    Column("state", String(16), nullable=False, default="registered"),
    Column("created_at", DateTime(), nullable=False),
    Column("version", String(8)),  # negotiated OCPI version
    Column("versions_url", Text),  # the partner's versions endpoint
    Column("endpoints", Text),  # JSON: [{identifier, role, url}] from its version details
    Column("parties", Text),  # JSON: [{role, country_code, party_id, business_details}]
    Column("hub_party_id", String(5)),
    # the token *we* call the partner with: it must be sent, so it cannot be hashed;
    # sealed (Fernet) under the node's secret key (peers/sealing.py, migration 0012)
    Column("token_out", Text),
    Column("profile", Text),  # JSON: the partner's quirks (see peers.profile)
    Column("rotating", Boolean, nullable=False, default=False,
           server_default=false()),  # old tokens in grace
    Column("last_reached_at", DateTime()),
    Column("last_error", Text),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), nullable=True),
    # "A" registration only, "C" current, "OLD" replaced and valid until expires_at
    Column("kind", String(8), nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("expires_at", DateTime()),
    Index("ix_tokens_peer", "peer_id"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

# --- store and forward (see ocpi.outbox) ---------------------------------------

outbox = Table(
    "outbox",
    metadata,
    # the queue order: FIFO per partner is ``seq`` order
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), nullable=False),
    Column("module", String(24), nullable=False),
    Column("object_key", String(80), nullable=False),  # "CC/PID/id", normalised
    Column("last_updated", DateTime(), nullable=False),  # of the snapshot
    Column("data", Text, nullable=False),  # the canonical object as it was written
    Column("to_country_code", String(2)),  # routing headers (a hub routes on them)
    Column("to_party_id", String(3)),
    Column("state", String(8), nullable=False),  # pending | dead | answered (a call's)
    # state: the object's state (PUT/PATCH, or DELETE when ``method`` says so);
    # call: one request to the module's endpoint + ``url``, its answer kept;
    # callback: one request to the absolute ``url`` a partner gave (response_url)
    Column("kind", String(8), nullable=False, default="state", server_default="state"),
    Column("method", String(8)),  # call/callback: the HTTP method; state: DELETE or NULL
    Column("url", Text),
    Column("answer", Text),  # a call's answer data (JSON) once accepted
    Column("answer_location", Text),  # and its Location header (a POSTed CDR's URL)
    Column("created_at", DateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", DateTime()),
    Column("correlation_id", String(32), nullable=False),  # the same on every retry
    Column("last_error", Text),
    Index("ix_outbox_peer_state_seq", "peer_id", "state", "seq"),
    Index("ix_outbox_peer_object", "peer_id", "module", "object_key"),
)

# what each partner has of each object: PATCHes are the difference to it
delivered = Table(
    "outbox_delivered",
    metadata,
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), primary_key=True),
    Column("module", String(24), primary_key=True),
    Column("object_key", String(80), primary_key=True),
    Column("last_updated", DateTime(), nullable=False),
    Column("data", Text, nullable=False),
    Column("delivered_at", DateTime(), nullable=False),
)

# one worker at a time drains a partner's queue; a lease, so a dead worker's
# partners are taken over (at once when it died on this host, else at expiry)
leases = Table(
    "outbox_leases",
    metadata,
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", DateTime(), nullable=False),
)

