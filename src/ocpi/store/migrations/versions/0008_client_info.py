"""Hub Client Info (issue 13): the parties each hub reports reaching; an index
that lets old real-time authorization records be pruned.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "client_info_objects",
        sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("party_id", sa.String(3), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("wire_versions", sa.String(32)),
        sa.UniqueConstraint("role", "country_code", "party_id", "id",
                            name="uq_client_info_objects_key"),
    )
    for name, columns in (("updated", ["role", "last_updated"]), ("id", ["role", "id"]),
                          ("seq", ["role", "seq"])):
        op.create_index(f"ix_client_info_objects_role_{name}", "client_info_objects",
                        columns)
    op.create_index("ix_token_authorizations_created", "token_authorizations", ["created_at"])
    counts = sa.table("object_counts", sa.column("module"), sa.column("role"), sa.column("n"))
    op.bulk_insert(counts, [{"module": "hubclientinfo", "role": "HUB", "n": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM object_counts WHERE module = 'hubclientinfo'")
    op.drop_index("ix_token_authorizations_created", "token_authorizations")
    op.drop_table("client_info_objects")
