"""Partners (4918c03): the registry's columns, token expiry, node settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

``peers.rotating`` is NOT NULL, so adding it to existing rows needs a database
default; it gets the one 38ed1a0 introduced (``false``). Databases 4918c03's
own ``create_all`` made lack that default, which 0003 gives them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PEER_COLUMNS = (
    ("version", sa.String(8)),
    ("versions_url", sa.Text()),
    ("endpoints", sa.Text()),
    ("parties", sa.Text()),
    ("hub_party_id", sa.String(5)),
    ("token_out", sa.Text()),
    ("profile", sa.Text()),
)


def upgrade() -> None:
    for name, type_ in PEER_COLUMNS:
        op.add_column("peers", sa.Column(name, type_))
    op.add_column("peers", sa.Column("rotating", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("peers", sa.Column("last_reached_at", sa.DateTime()))
    op.add_column("peers", sa.Column("last_error", sa.Text()))
    op.add_column("tokens", sa.Column("expires_at", sa.DateTime()))
    op.create_index("ix_tokens_peer", "tokens", ["peer_id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("settings")
    op.drop_index("ix_tokens_peer", table_name="tokens")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("peers") as batch:
        for name in (*(n for n, _ in PEER_COLUMNS), "rotating", "last_reached_at",
                     "last_error"):
            batch.drop_column(name)
