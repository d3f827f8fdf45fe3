"""The first release's schema (a5fbff6): objects, partners and their tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Exactly what that release's ``metadata.create_all`` made, frozen here: later
changes to ``ocpi.store.schema`` must not change what this revision creates.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def object_table(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("party_id", sa.String(3), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        *extra,
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("role", "country_code", "party_id", "id", name=f"uq_{name}_key"),
    )
    op.create_index(f"ix_{name}_role_updated", name, ["role", "last_updated"])
    op.create_index(f"ix_{name}_role_id", name, ["role", "id"])


def upgrade() -> None:
    object_table("locations")
    object_table(
        "sessions",
        sa.Column("location_id", sa.String(64)),
        sa.Column("start_date_time", sa.DateTime()),
        sa.Column("status", sa.String(16)),
        sa.Column("token_country_code", sa.String(2)),
        sa.Column("token_party_id", sa.String(3)),
    )
    op.create_table(
        "peers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("party_id", sa.String(3), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("peer_id", sa.Integer(), sa.ForeignKey("peers.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("tokens", "peers", "sessions", "locations"):
        op.drop_table(table)
