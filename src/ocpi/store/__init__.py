"""The built-in store: SQLAlchemy Core over SQLite (default) or PostgreSQL."""

from .database import Database
from .sql_store import SqlStore

__all__ = ["Database", "SqlStore"]
