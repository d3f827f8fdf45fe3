"""Charging Profiles share the commands' record of remote requests: each row says
its module, a charging profile request the session it is about, and a request a
hub forwarded the party behind it (where its result is routed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("command_records") as batch:
        batch.add_column(sa.Column("module", sa.String(24), nullable=False,
                                   server_default="commands"))
        batch.add_column(sa.Column("session_id", sa.String(36)))
        batch.add_column(sa.Column("party_country_code", sa.String(2)))
        batch.add_column(sa.Column("party_party_id", sa.String(3)))
    op.create_index("ix_command_records_session", "command_records", ["module", "session_id"])


def downgrade() -> None:
    op.drop_index("ix_command_records_session", "command_records")
    with op.batch_alter_table("command_records") as batch:
        batch.drop_column("party_party_id")
        batch.drop_column("party_country_code")
        batch.drop_column("session_id")
        batch.drop_column("module")
