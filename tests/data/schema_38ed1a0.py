# Frozen copy of src/ocpi/store/schema.py at 38ed1a0: what that release created. Never edit.
"""Tables: key columns for lookups and filters, the object itself as JSON text.

Key columns hold normalised keys (upper-case country/party, case-folded id:
OCPI ids are CiStrings); the JSON keeps the object exactly as received.
Timestamps are naive UTC so SQLite and PostgreSQL compare them alike.
"""

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
    false,
)

metadata = MetaData()

_Seq = BigInteger().with_variant(Integer(), "sqlite")


def _object_table(name: str, *extra: Column) -> Table:
    return Table(
        name,
        metadata,
        Column("seq", _Seq, primary_key=True, autoincrement=True),
        Column("role", String(8), nullable=False),
        Column("country_code", String(2), nullable=False),
        Column("party_id", String(3), nullable=False),
        Column("id", String(64), nullable=False),
        Column("last_updated", DateTime(), nullable=False),
        *extra,
        Column("data", Text, nullable=False),
        UniqueConstraint("role", "country_code", "party_id", "id", name=f"uq_{name}_key"),
        Index(f"ix_{name}_role_updated", "role", "last_updated"),
        Index(f"ix_{name}_role_id", "role", "id"),
    )


locations = _object_table("locations")
sessions = _object_table(
    "sessions",
    Column("location_id", String(64)),
    Column("start_date_time", DateTime()),
    Column("status", String(16)),
    Column("token_country_code", String(2)),
    Column("token_party_id", String(3)),
)

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
    # the token *we* call the partner with: it must be sent, so it cannot be hashed
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

OBJECT_TABLES = {"locations": locations, "sessions": sessions}
