"""Bulk loading of registry rows: PostgreSQL ``COPY`` and SQLite ``executemany``.

For loads of millions of rows (the synthetic city, a census import) the ORM's one object per row
is far too slow. These helpers write plain tuples through the session's own connection, inside the
caller's transaction, so a bulk load commits or rolls back as one unit like any other change.

Identity numbers and phones still go through :mod:`fangkong.registry.identity`, so a person
loaded in bulk is found by the same blind-index lookup as one registered by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Constraint,
    ForeignKeyConstraint,
    Index,
    Table,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from fangkong.core.crypto import FieldCipher
from fangkong.core.scope import within_path
from fangkong.registry.identity import protect_id_number, protect_phone
from fangkong.registry.models import Area, Building, Compound, Household, Person

# Tables the loader may write, with their columns: table and column names are never taken
# from input, so they are safe to place in the COPY/INSERT text.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("id", "code", "name", "level", "parent_id", "path"),
    "compound": ("id", "community_id", "name", "area_path", "latitude", "longitude"),
    "building": (
        "id", "compound_id", "grid_id", "area_path", "label", "units", "floors",
        "latitude", "longitude",
    ),
    "household": ("id", "building_id", "unit", "floor", "room", "area_path"),
    "workplace": (
        "id", "name", "kind", "industry", "credit_code", "area_path", "latitude", "longitude",
    ),
    "venue": ("id", "name", "kind", "area_path", "latitude", "longitude"),
    "person": (
        "id", "household_id", "area_path", "document_type", "id_number_encrypted",
        "id_number_index", "id_number_masked", "name", "sex", "birth_date", "phone_encrypted",
        "phone_index", "phone_masked", "workplace_id", "tags", "status", "merged_into_id",
        "created_at", "updated_at",
    ),
    "user_account": (
        "id", "username", "display_name", "role", "password_hash", "area_id",
        "jurisdiction_path", "person_id", "household_id", "is_active", "created_at",
        "last_login_at",
    ),
}  # fmt: skip

# A bulk load is one transaction, so durability settings (synchronous) matter only at its single
# commit and SQLite refuses to change them inside a transaction anyway. What pays is a page cache
# large enough to keep the indexes being built in memory (negative = KiB: 256 MiB). Temporary
# storage is in memory on every connection already (db.session).
SQLITE_BULK_PRAGMAS = {"cache_size": "-262144"}
SQLITE_BATCH_ROWS = 50_000
# Sorting 4 million index keys in memory instead of in temporary files (default 64 MB).
POSTGRES_INDEX_MEMORY = "512MB"


def tables(*names: str) -> list[Table]:
    """The registry's SQLAlchemy tables by name (for :func:`indexes_built_afterwards`)."""
    known = {model.__tablename__: model for model in (Area, Compound, Building, Household, Person)}
    return [cast(Table, known[name].__table__) for name in names]


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def next_id(*, session: Session, table: str) -> int:
    """The first free id of ``table`` (ids are assigned by the loader, not the database)."""
    _check_table(table)
    current = session.execute(text(f"SELECT MAX(id) FROM {table}")).scalar()  # noqa: S608
    return int(current or 0) + 1


def area_ids_by_code(*, session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Ids of the areas with ``codes`` (missing codes are absent from the result)."""
    rows = session.execute(select(Area.code, Area.id).where(Area.code.in_(list(codes))))
    return {code: area_id for code, area_id in rows.tuples()}


def count_areas_at_level(*, session: Session, level: str, under_path: str) -> int:
    stmt = select(func.count()).where(Area.level == level, within_path(Area.path, under_path))
    return int(session.execute(stmt).scalar_one())


def write_rows(*, session: Session, table: str, rows: Iterable[Sequence[Any]]) -> int:
    """Write ``rows`` (tuples in :data:`TABLE_COLUMNS` order) into ``table`` on the session's
    connection, in its transaction. Returns the number of rows written."""
    columns = _check_table(table)
    raw: Any = session.connection().connection.dbapi_connection
    column_list = ", ".join(columns)
    written = 0
    if dialect(session) == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                written += 1
        return written
    statement = _insert_statement(table, columns)
    cursor = raw.cursor()
    try:
        for batch in _batches(rows, SQLITE_BATCH_ROWS):
            cursor.executemany(statement, batch)
            written += len(batch)
    finally:
        cursor.close()
    return written


@contextmanager
def indexes_built_afterwards(*, session: Session, tables: Sequence[Table]) -> Iterator[None]:
    """Drop the indexes of ``tables`` (and on PostgreSQL their foreign keys and unique
    constraints) for the duration of a bulk load and build them again afterwards.

    Building an index once over sorted data is several times faster than maintaining it row by
    row, and one foreign-key validation query replaces a trigger call per row. Everything runs
    in the caller's transaction: if re-creating a constraint fails (a duplicate ID number), the
    whole load rolls back. PostgreSQL holds an exclusive lock on the tables until commit."""
    connection = session.connection()
    is_postgres = dialect(session) == "postgresql"
    indexes = [index for table in tables for index in sorted(table.indexes, key=_name)]
    constraints: list[Constraint] = []
    if is_postgres:
        for table in tables:
            constraints += sorted(table.foreign_key_constraints, key=_name)
            constraints += sorted(
                (c for c in table.constraints if isinstance(c, UniqueConstraint)), key=_name
            )
    for constraint in constraints:
        connection.execute(DropConstraint(constraint))
    for index in indexes:
        connection.execute(DropIndex(index))
    yield
    for index in indexes:
        connection.execute(CreateIndex(index))
    # Unique constraints first: the foreign keys of a self-referencing table may need them.
    for constraint in sorted(constraints, key=lambda c: isinstance(c, ForeignKeyConstraint)):
        connection.execute(AddConstraint(constraint))


def _name(item: Index | Constraint) -> str:
    return str(item.name)


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    # Table and column names come from TABLE_COLUMNS, never from input.
    placeholders = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


def timestamp(*, session: Session, moment: datetime) -> datetime | str:
    """``moment`` as this backend stores it: aware for PostgreSQL, naive-UTC text for SQLite
    (the same form :class:`fangkong.db.base.UTCDateTime` writes)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused; pass a timezone-aware value")
    if dialect(session) == "postgresql":
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def finish(*, session: Session, tables: Iterable[str]) -> None:
    """After writing explicit ids: move PostgreSQL's id sequences past them (SQLite picks
    ``MAX(rowid) + 1`` by itself) and refresh the planner's statistics."""
    if dialect(session) != "postgresql":
        return
    for table in tables:
        _check_table(table)
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )
        session.execute(text(f"ANALYZE {table}"))


@contextmanager
def bulk_settings(*, session: Session) -> Iterator[None]:
    """Settings suited to a bulk load for its duration: on SQLite PRAGMAs (then the previous
    values again), on PostgreSQL more memory to sort the rebuilt indexes (this transaction only)."""
    connection = session.connection()
    if dialect(session) == "postgresql":
        # SET LOCAL ends with the transaction, so nothing needs restoring.
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_MEMORY}'")
        yield
        return
    if dialect(session) != "sqlite":
        yield
        return
    previous: dict[str, Any] = {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE_BULK_PRAGMAS
    }
    for name, value in SQLITE_BULK_PRAGMAS.items():
        connection.exec_driver_sql(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in previous.items():
            connection.exec_driver_sql(f"PRAGMA {name}={value}")


def protect_identities(
    cipher: FieldCipher, id_numbers: Sequence[str], phones: Sequence[str | None]
) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
    """``(id encrypted, id index, id masked, phone encrypted, phone index, phone masked)`` for
    each person, through the same functions as the one-at-a-time path."""
    out: list[tuple[str, str, str, str | None, str | None, str | None]] = []
    for id_number, phone in zip(id_numbers, phones, strict=True):
        ident = protect_id_number(cipher, id_number)
        if phone is None:
            out.append((ident.encrypted, ident.index, ident.masked, None, None, None))
        else:
            p = protect_phone(cipher, phone)
            out.append((ident.encrypted, ident.index, ident.masked, p.encrypted, p.index, p.masked))
    return out


def identity_executor(processes: int | None = None) -> Executor:
    """A process pool for :func:`protect_identities` (AES-GCM and HMAC are CPU-bound and hold
    the GIL for each short call, so threads do not help). ``processes`` defaults to the CPUs."""
    return ProcessPoolExecutor(max_workers=processes or os.cpu_count() or 1)


def _check_table(table: str) -> tuple[str, ...]:
    if table not in TABLE_COLUMNS:
        raise ValueError(f"bulk loading into {table!r} is not supported")
    return TABLE_COLUMNS[table]
