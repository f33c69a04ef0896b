"""``column IN <a list of ids>`` bound as one parameter instead of one per id.

An expanded ``IN (:p1, ..., :p500)`` costs the statement cache and the driver a parameter per
id and is capped by SQLite's bound-parameter limit, so batches stay small. Bound as one value
(a PostgreSQL array; a JSON array read by SQLite's ``json_each``), the statement text is the
same for every batch, and a batch can hold as many ids as memory allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Dialect, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute


def among(
    column: ColumnElement[Any] | QueryableAttribute[Any],
    ids: Iterable[int],
    dialect: Dialect,
) -> ColumnElement[bool]:
    """``column`` is one of ``ids`` (integers), as one bound parameter on either database."""
    values = [int(i) for i in ids]
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger)))
    each = select(text("value")).select_from(
        text("json_each(:ids)").bindparams(ids=json.dumps(values))
    )
    return column.in_(each.scalar_subquery())
