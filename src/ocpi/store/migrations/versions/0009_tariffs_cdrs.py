"""Tariffs and CDRs (issue 18): our own and partners' tariffs, CDRs with their
token owner and the eMSP's check of them, and the completed sessions whose CDR
is held for the operator.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _object_table(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("party_id", sa.String(3), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        *extra,
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("wire_versions", sa.String(32)),
        sa.UniqueConstraint("role", "country_code", "party_id", "id", name=f"uq_{name}_key"),
    )
    for index, columns in (("updated", ["role", "last_updated"]), ("id", ["role", "id"]),
                           ("seq", ["role", "seq"])):
        op.create_index(f"ix_{name}_role_{index}", name, columns)


def upgrade() -> None:
    _object_table("tariffs")
    _object_table("cdrs",
                  sa.Column("token_country_code", sa.String(2)),
                  sa.Column("token_party_id", sa.String(3)),
                  sa.Column("check_state", sa.String(16)))
    op.create_index("ix_cdrs_token_owner", "cdrs",
                    ["role", "token_country_code", "token_party_id", "seq"])
    op.create_table(
        "cdr_holds",
        sa.Column("country_code", sa.String(2), primary_key=True),
        sa.Column("party_id", sa.String(3), primary_key=True),
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    counts = sa.table("object_counts", sa.column("module"), sa.column("role"), sa.column("n"))
    op.bulk_insert(counts, [{"module": "tariffs", "role": "CPO", "n": 0},
                            {"module": "cdrs", "role": "CPO", "n": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM object_counts WHERE module IN ('tariffs', 'cdrs')")
    op.drop_table("cdr_holds")
    op.drop_table("cdrs")
    op.drop_table("tariffs")
