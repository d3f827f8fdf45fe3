"""Commands: every command received (CPO) and sent (eMSP), its immediate answer,
its one result and when a missing result becomes TIMEOUT.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "command_records",
        sa.Column("id", _Seq, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("peer_id", sa.Integer()),
        sa.Column("command", sa.String(24), nullable=False),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("uid", sa.String(64)),
        sa.Column("response_url", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text()),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("result", sa.String(24)),
        sa.Column("message", sa.Text()),
        sa.Column("authorization_reference", sa.String(36)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("timeout_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
    )
    op.create_index("ix_command_records_due", "command_records", ["state", "timeout_at"])
    op.create_index("ix_command_records_uid", "command_records", ["uid"], unique=True)


def downgrade() -> None:
    op.drop_table("command_records")
