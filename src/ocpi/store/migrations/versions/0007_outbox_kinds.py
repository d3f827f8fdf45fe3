"""Outbox message kinds (issue 13): state replication including DELETE, one-off
calls whose answer is kept, callbacks to a URL the partner gave.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False,
                                   server_default="state"))
        batch.add_column(sa.Column("method", sa.String(8)))
        batch.add_column(sa.Column("url", sa.Text()))
        batch.add_column(sa.Column("answer", sa.Text()))
        batch.add_column(sa.Column("answer_location", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for name in ("answer_location", "answer", "url", "method", "kind"):
            batch.drop_column(name)
