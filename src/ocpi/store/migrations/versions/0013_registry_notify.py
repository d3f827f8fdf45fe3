"""PostgreSQL tells every node process when the partner registry changes, so a
process may keep who each token is between requests (``peers/caller_cache.py``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A statement-level trigger on ``peers`` and ``tokens`` sends a notification on the
channel ``ocpi_registry`` with each committing change, whoever makes it (the node,
the CLI, the console, or SQL by hand). SQLite has no notifications: nothing to do.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLES = ("peers", "tokens")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION ocpi_registry_changed() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('ocpi_registry', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql""")
    for table in _TABLES:
        op.execute(f"""
            CREATE TRIGGER ocpi_{table}_changed
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ocpi_registry_changed()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS ocpi_{table}_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ocpi_registry_changed()")
