"""``peers.rotating`` defaults to false in the database too (38ed1a0).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Only databases 4918c03's release created lack the default (0002 adds the
column with it). SQLite cannot alter a column in place: batch mode copies the
table, which is safe because ``ocpi.store.migrate`` runs with foreign keys off
(dropping ``peers`` would otherwise cascade to ``tokens``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.alter_column("rotating", existing_type=sa.Boolean(), existing_nullable=False,
                           server_default=sa.false())


def downgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.alter_column("rotating", existing_type=sa.Boolean(), existing_nullable=False,
                           server_default=None)
