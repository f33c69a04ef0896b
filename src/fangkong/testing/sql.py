"""SQL helpers the set-based statements of the testing domain share across SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_for(session: Session) -> Any:
    """The dialect's ``insert`` (both have ``ON CONFLICT``)."""
    return postgresql_insert if is_postgresql(session) else sqlite_insert


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[int]:
    if is_postgresql(session):
        return cast(func.round(func.extract("epoch", later - earlier)), Integer)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0), Integer)


def count_rows(session: Session, query: Any) -> int:
    """Rows counted after a write (a driver's rowcount of ``INSERT … SELECT`` is not reliable:
    psycopg reports -1 for some of them)."""
    return int(session.scalar(query) or 0)
