"""The tokens we call partners with (``peers.token_out``) are sealed under the
node's secret key (Fernet), so a copy of the database cannot act as us.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

No column changes. The key comes from ``OCPI_SECRET_KEY`` or the key file
(``ocpi.secret_key``), and is needed only when there is a token to seal or open:
without one the upgrade stops, changing nothing, and says where the key goes.
A row that already opens with the key is left as it is, so running the upgrade
on a database half sealed by hand does no harm. The downgrade opens every row.
"""

import sqlalchemy as sa
from alembic import op

from ocpi.secret_key import SecretKey, SecretKeyError, load

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ROWS = sa.text("SELECT id, token_out FROM peers WHERE token_out IS NOT NULL")
_SET = sa.text("UPDATE peers SET token_out = :token WHERE id = :id")


def _key(why: str) -> SecretKey:
    try:
        return load(create=False)
    except SecretKeyError as exc:
        raise SecretKeyError(f"revision 0012 {why} the partners' tokens and needs the node's "
                             f"secret key: {exc}") from exc


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(_ROWS).all()
    if not rows:
        return
    key = _key("seals")
    sealed = [{"id": i, "token": key.encrypt(t)} for i, t in rows if not key.opens(t)]
    if sealed:
        conn.execute(_SET, sealed)


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(_ROWS).all()
    if not rows:
        return
    key = _key("opens")
    conn.execute(_SET, [{"id": i, "token": key.decrypt(t)} for i, t in rows])
    op.execute("DELETE FROM settings WHERE key = 'secret_key_check'")
