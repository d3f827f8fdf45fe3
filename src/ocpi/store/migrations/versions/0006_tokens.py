"""Tokens (issue 13): the token objects and the record of real-time authorizations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "token_objects",
        sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("party_id", sa.String(3), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("wire_versions", sa.String(32)),
        sa.UniqueConstraint("role", "country_code", "party_id", "id",
                            name="uq_token_objects_key"),
    )
    op.create_index("ix_token_objects_role_updated", "token_objects", ["role", "last_updated"])
    op.create_index("ix_token_objects_role_id", "token_objects", ["role", "id"])
    op.create_index("ix_token_objects_role_seq", "token_objects", ["role", "seq"])
    op.create_table(
        "token_authorizations",
        sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(36)),
        sa.Column("peer_id", sa.Integer()),
        sa.Column("token_country_code", sa.String(2)),
        sa.Column("token_party_id", sa.String(3)),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("location_id", sa.String(64)),
        sa.Column("evse_uid", sa.String(64)),
        sa.Column("allowed", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.String(64)),
    )
    op.create_index("ix_token_authorizations_uid", "token_authorizations",
                    ["role", "uid", "created_at"])
    counts = sa.table("object_counts", sa.column("module"), sa.column("role"), sa.column("n"))
    op.bulk_insert(counts, [{"module": "tokens", "role": "EMSP", "n": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM object_counts WHERE module = 'tokens'")
    op.drop_table("token_authorizations")
    op.drop_table("token_objects")
