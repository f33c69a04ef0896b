"""One Core statement run as the driver's own executemany, for batches of thousands of rows.

A Core executemany builds a parameter dict per row and runs every value through its column's
bind processor (JSON encoding, datetime conversion), which cost more than the database's own
work for the health-code and audit writes: in a batch most values repeat (one time, a few
reason lists). Here the statement is compiled once per dialect, each column's processor is
applied once per distinct value of one call, and the rows go to the driver as plain tuples
(positional paramstyles) or dicts (named ones). What is stored is exactly what the Core
executemany would store: the same compiled SQL and the same processors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Dialect
from sqlalchemy.sql import Delete, Insert, Update
from sqlalchemy.types import TypeEngine

Statement = Insert | Update | Delete


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order a positional driver wants them
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]  # values the statement carries itself (``revision + 1``), bound


_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[Statement, _Compiled]] = {}


def _compile(statement: Statement, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    # Keyed by identity (statements are module constants) and kept with the statement, so an
    # id is never reused for another one while its entry lives.
    key = (id(statement), dialect.name, keys)
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    # ``column_keys`` limits an INSERT to the columns given (else every column, id included);
    # ``for_executemany`` leaves out the RETURNING of a single-row insert.
    compiled = statement.compile(
        dialect=dialect, column_keys=list(keys) or None, for_executemany=True
    )
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
    processors = tuple(_processor(binds[name].type, dialect) for name in names)
    fixed = {}
    for name, process in zip(names, processors, strict=True):
        if not binds[name].required:
            value = binds[name].effective_value
            fixed[name] = value if process is None or value is None else process(value)
    found = _Compiled(compiled.string, names, compiled.positional, processors, fixed)
    _COMPILED[key] = (statement, found)
    return found


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind processor, except JSON on PostgreSQL: psycopg's processor wraps
    the value for the driver to encode on every row, so it is encoded here instead, once per
    distinct value, and sent as text (the compiled SQL casts the parameter ``::JSON``)."""
    if dialect.name == "postgresql" and isinstance(type_, JSON):
        return json.dumps
    return type_.dialect_impl(dialect).bind_processor(dialect)


def execute_many(
    connection: Connection,
    statement: Statement,
    rows: Sequence[Mapping[str, Any]],
    *,
    insert_keys: Sequence[str] = (),
) -> int:
    """Run ``statement`` once per row of ``rows`` (bind name → value; for an INSERT, name the
    columns in ``insert_keys``) in one driver executemany; returns the summed row count."""
    if not rows:
        return 0
    compiled = _compile(statement, connection.dialect, tuple(insert_keys))
    names, fixed = compiled.names, compiled.fixed
    given = [name for name in names if name not in fixed]
    # Values are taken from each row in one C call; only processed columns are visited after.
    take = itemgetter(*given)
    slot_of = {name: slot for slot, name in enumerate(given)}
    processed: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (slot_of[name], process, {})
        for name, process in zip(names, compiled.processors, strict=True)
        if process is not None and name in slot_of
    ]
    inserts = [(i, fixed[name]) for i, name in enumerate(names) if name in fixed]
    params: list[Any] = []
    for row in rows:
        values = list(take(row)) if len(given) > 1 else [take(row)]
        for slot, process, memo in processed:
            values[slot] = _processed(values[slot], process, memo)
        for i, fixed_value in inserts:
            values.insert(i, fixed_value)
        params.append(
            tuple(values) if compiled.positional else dict(zip(names, values, strict=True))
        )
    result = connection.exec_driver_sql(compiled.sql, params)
    return int(result.rowcount)


def _processed(raw: Any, process: Callable[[Any], Any], memo: dict[Any, Any]) -> Any:
    """``process(raw)``, once per distinct value of a call. Unhashable values (lists, dicts)
    are remembered by identity: every row is alive for the whole call, so no id is reused,
    and callers share one object per distinct value."""
    if raw is None:
        return None
    key: tuple[Any, ...]
    try:
        key = (type(raw), raw)
        done = memo.get(key, memo)
    except TypeError:
        key = (id(raw),)
        done = memo.get(key, memo)
    if done is memo:
        done = memo[key] = process(raw)
    return done
