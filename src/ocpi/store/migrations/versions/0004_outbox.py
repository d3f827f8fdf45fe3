"""The outbox (8708f40): messages to partners, what each has, worker leases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def peer_id(**kw: bool) -> sa.Column:
    return sa.Column("peer_id", sa.Integer(), sa.ForeignKey("peers.id", ondelete="CASCADE"),
                     **kw)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        peer_id(nullable=False),
        sa.Column("module", sa.String(24), nullable=False),
        sa.Column("object_key", sa.String(80), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("to_country_code", sa.String(2)),
        sa.Column("to_party_id", sa.String(3)),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime()),
        sa.Column("correlation_id", sa.String(32), nullable=False),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("ix_outbox_peer_state_seq", "outbox", ["peer_id", "state", "seq"])
    op.create_index("ix_outbox_peer_object", "outbox", ["peer_id", "module", "object_key"])
    op.create_table(
        "outbox_delivered",
        peer_id(primary_key=True),
        sa.Column("module", sa.String(24), primary_key=True),
        sa.Column("object_key", sa.String(80), primary_key=True),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "outbox_leases",
        peer_id(primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("outbox_leases", "outbox_delivered", "outbox"):
        op.drop_table(table)
