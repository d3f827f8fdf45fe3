"""Statements built and compiled once, run as driver SQL on the hot paths.

SQLAlchemy Core spends more time building an expression, making its cache
key and setting up an execution context than SQLite spends running a keyed
lookup. A hot statement is therefore written once with bind parameters,
compiled once per dialect, and its SQL string handed to the driver. Values
going in pass the column types' bind processors (timestamps on SQLite); rows
come back as the driver gives them, so only plain columns are selected.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect


class Prepared:
    """``stmt``, or ``build(dialect_name)`` for a statement each dialect spells its way
    (an upsert)."""

    __slots__ = ("_build", "_compiled", "stmt")

    def __init__(self, stmt: Executable | None = None,
                 build: Callable[[str], Executable] | None = None) -> None:
        assert (stmt is None) != (build is None)
        self.stmt = stmt
        self._build = build
        self._compiled: dict[str, tuple[str, tuple[tuple[str, Any], ...], dict[str, Any]]] = {}

    def build(self, dialect_name: str) -> Executable:
        """The statement as ``dialect_name`` spells it."""
        return self.stmt if self._build is None else self._build(dialect_name)

    def bind(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """The SQL for ``dialect`` and the positional values of ``params``."""
        got = self._compiled.get(dialect.name)
        if got is None:
            compiled = self.build(dialect.name).compile(dialect=dialect)  # type: ignore[attr-defined]
            order = tuple((name, compiled.binds[name].type._cached_bind_processor(dialect))
                          for name in compiled.positiontup or ())
            got = (str(compiled), order, dict(compiled.params))
            self._compiled[dialect.name] = got
        sql, order, defaults = got
        values = []
        for name, process in order:
            value = params[name] if name in params else defaults[name]
            values.append(value if process is None or value is None else process(value))
        return sql, tuple(values)
