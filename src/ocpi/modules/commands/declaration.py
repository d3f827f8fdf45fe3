"""The record of commands, received (CPO) and sent (eMSP): one table, declared
here as Tokens declare ``token_authorizations``. Commands are no stored OCPI
object: nothing is pushed, pulled or imported, so there is no ``ObjectType``.

A row's ``state`` is ``asking`` (CPO: the operator's hook is deciding; eMSP: the
POST is in flight), ``pending`` (accepted: a result is awaited until
``timeout_at``) or ``done``. The sweeper finds expired rows through
(``state``, ``timeout_at``); the eMSP finds the command a result belongs to
through the unguessable ``uid`` of the ``response_url`` it gave.
"""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from ...store.schema import _Seq, metadata

CPO, EMSP = "CPO", "EMSP"  # the side we were on: the CPO received it, the eMSP sent it
ASKING, PENDING, DONE = "asking", "pending", "done"

records = Table(
    "command_records",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),  # our command id
    Column("role", String(8), nullable=False),
    Column("peer_id", Integer),  # the eMSP that sent it (CPO), the CPO we sent it to (eMSP)
    Column("command", String(24), nullable=False),
    Column("version", String(8), nullable=False),  # the version it travelled in
    Column("uid", String(64)),  # eMSP: the unguessable id in our response_url
    Column("response_url", Text, nullable=False),
    Column("request", Text, nullable=False),  # the request object (JSON) as sent
    Column("response", Text),  # the immediate CommandResponse (JSON)
    Column("state", String(8), nullable=False),
    Column("result", String(24)),  # the CommandResult's result (2.1.1: its CommandResponse)
    Column("message", Text),  # the result's DisplayText list (JSON)
    Column("authorization_reference", String(36)),  # START_SESSION/RESERVE_NOW
    Column("created_at", DateTime(), nullable=False),
    Column("timeout_at", DateTime()),  # CPO: when a missing result becomes TIMEOUT
    Column("finished_at", DateTime()),
    Index("ix_command_records_due", "state", "timeout_at"),
    Index("ix_command_records_uid", "uid", unique=True),
)
