"""Fast list pages (issue 6): zero-copy versions, (role, seq) indexes, counts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("locations", "sessions")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("wire_versions", sa.String(32)))
        op.create_index(f"ix_{name}_role_seq", name, ["role", "seq"])
    op.create_index("ix_sessions_token_owner", "sessions",
                    ["role", "token_country_code", "token_party_id", "seq"])
    counts = op.create_table(
        "object_counts",
        sa.Column("module", sa.String(24), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    conn = op.get_bind()
    rows = []
    for name in TABLES:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {name} WHERE role = 'CPO'")).scalar()
        rows.append({"module": name, "role": "CPO", "n": n or 0})
    op.bulk_insert(counts, rows)
    # zero-copy flags are filled after the upgrade, by the release running it
    # (``migrate.refresh_wire_versions``): a migration carries no live converter code


def downgrade() -> None:
    op.drop_table("object_counts")
    op.drop_index("ix_sessions_token_owner", "sessions")
    for name in TABLES:
        op.drop_index(f"ix_{name}_role_seq", name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("wire_versions")
