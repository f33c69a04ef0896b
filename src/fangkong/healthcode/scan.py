"""One scan of every person with their test summary (``testing.summary``): the bulk of the
full recompute's reading, four integers per person.

The driver turns every value it returns into a Python object, and at four million people that
costs more than the database's own work; so everything small is packed into one integer in
SQL (area index, key worker, positive-pool candidate, samples after ``now``, round
attendance), times come as integers from the summary, and the area path, a text, becomes an
index into the distinct paths through a small temporary table.

Round attendance is the one fact the summary does not hold in full (only the round of the
latest round sample): for the few people whose latest round sample is not in a round and
whose latest sample is older than its close, an ``EXISTS`` over their own samples decides.
Anyone else either came (their latest round sample is in it) or was tested after it closed,
so the round never counts against them (``vector._skipped``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.core.scope import within_path
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Person
from fangkong.testing.models import PersonTestSummary, Tube, TubeMember
from fangkong.testing.summary import ROUND_BITS

Int64s = NDArray[np.int64]
Bools = NDArray[np.bool_]
NO_TIME = -(2**62)
KEY_WORKER, POOL_CANDIDATE, LATER_SAMPLE = 1, 2, 4  # bits 0, 1 and 2
# Round attendance bits: the first rounds share the flags value, further ones take a column
# of their own per ``EXTRA_ROUNDS``.
FIRST_ROUND_BIT, FLAG_ROUNDS, EXTRA_ROUNDS = 3, 29, 62
# The area: bits from here on (a prefix each, up to PREFIX_BITS), or the path's index.
PATH_SHIFT, PREFIX_BITS = 32, 31


@dataclass
class PeopleScan:
    """One entry per person, in ascending id order."""

    ids: Int64s
    covered: dict[str, Bools]  # who lives under each area prefix asked for
    key_worker: Bools
    pool_candidate: Bools  # a positive pool since ``since`` (the provider decides)
    later_sample: Bools  # a sample after ``now``: their testing facts come from the provider
    came: list[Bools]  # per round: came, or tested since it closed (never counts as skipped)
    latest_sample: Int64s
    latest_negative: Int64s


def int_columns(session: Session, stmt: Select[Any]) -> list[Int64s]:
    """The integer columns of ``stmt`` (no NULLs), each as one array, aligned row by row.

    Each column comes back as one comma-separated text (``group_concat`` on SQLite,
    ``string_agg`` on PostgreSQL) parsed by NumPy: turning millions of values into Python
    integers one by one costs several times more than the database writing them out and NumPy
    reading them. All columns come from the one row stream, so they stay aligned; an aggregate
    need not keep the statement's order, so callers that need it sort (``read``)."""
    rows = stmt.subquery("rows")
    if session.get_bind().dialect.name == "postgresql":
        texts = [func.string_agg(cast(column, Text), ",") for column in rows.c]
    else:
        texts = [func.group_concat(column) for column in rows.c]
    found = session.connection().execute(select(*texts)).one()
    columns = [np.fromstring(text or "", sep=",", dtype=np.int64) for text in found]
    if len({len(column) for column in columns}) > 1:
        raise ValueError("a column of the statement holds NULLs")
    return columns


def _paths_table() -> Table:
    return Table(
        "healthcode_scan_path",
        MetaData(),
        Column("path", String, primary_key=True),
        Column("idx", BigInteger, nullable=False),
        prefixes=["TEMPORARY"],
    )


def _attended(
    summary: Any, round_: Any, closed_us: int, since: datetime, bit: int
) -> ColumnElement[int]:
    sampled_in_round = exists().where(
        TubeMember.person_id == Person.id,
        TubeMember.tube_id == Tube.id,
        # "+ 0": not through the round's index: SQLite would otherwise walk every tube of
        # the round for each person, instead of the person's own few samples.
        Tube.campaign_id + 0 == round_.id,
        TubeMember.sampled_at >= since,
    )
    prefix = round_.area_path
    round_bit = _bit(round_.id % ROUND_BITS)
    return case(
        (summary.last_campaign_id == round_.id, _bit(bit)),
        # Never sampled in a round with this bit: certainly not in this one.
        (summary.round_bits.op("&")(round_bit) == 0, _bit(None)),
        (
            and_(
                summary.last_sampled_us < closed_us,
                _under(prefix),
                sampled_in_round,
            ),
            _bit(bit),
        ),
        else_=_bit(None),
    )


def _under(prefix: str) -> ColumnElement[bool]:
    """The person lives under ``prefix``: a range of strings (two comparisons, cheaper per
    row than cutting the path), as the scope helper tests a subtree."""
    if prefix.endswith("/"):
        return within_path(Person.area_path, prefix)
    return func.substr(Person.area_path, 1, len(prefix)) == prefix


def _bit(bit: int | None) -> ColumnElement[int]:
    """``1 << bit`` (0 for None) as a 64-bit integer (PostgreSQL's default is 32)."""
    return literal(0 if bit is None else 1 << bit, BigInteger)


def _sum(terms: Sequence[ColumnElement[int]]) -> ColumnElement[int]:
    return reduce(operator.add, terms)


def read(
    *,
    session: Session,
    now_us: int,
    since: datetime,
    since_us: int,
    rounds: Sequence[Any],
    closed_us: Sequence[int],
    prefixes: Sequence[str],
) -> PeopleScan:
    """Every person, with what their test summary says at ``now_us``, and whether they live
    under each of ``prefixes`` (area paths)."""
    wanted = sorted(set(prefixes))
    connection = session.connection()
    # Up to PREFIX_BITS prefixes are tested in SQL, a bit each; beyond, each person's area
    # path becomes an index into the distinct paths (a lookup in a temporary table).
    by_bits = len(wanted) <= PREFIX_BITS
    paths: list[str] = []
    area: list[ColumnElement[int]]
    table = _paths_table()
    if by_bits:
        area = [
            case(
                (_under(p), _bit(PATH_SHIFT + k)),
                else_=_bit(None),
            )
            for k, p in enumerate(wanted)
        ]
    else:
        paths = sorted(set(session.scalars(select(Person.area_path).distinct())))
        table.drop(connection, checkfirst=True)
        table.create(connection)
        connection.execute(table.insert(), [{"path": p, "idx": i} for i, p in enumerate(paths)])
        index = select(table.c.idx).where(table.c.path == Person.area_path).scalar_subquery()
        area = [index * _bit(PATH_SHIFT)]
    s = PersonTestSummary
    flag_terms: list[ColumnElement[int]] = [
        *area,
        case((Person.tags.op("&")(int(PersonTag.KEY_WORKER)) != 0, _bit(0)), else_=_bit(None)),
        case((s.last_sampled_us > now_us, _bit(2)), else_=_bit(None)),
        case((s.pool_positive_us >= since_us, _bit(1)), else_=_bit(None)),
    ]
    groups: list[list[ColumnElement[int]]] = [flag_terms]
    for k, (round_, closed) in enumerate(zip(rounds, closed_us, strict=True)):
        if k < FLAG_ROUNDS:
            flag_terms.append(_attended(s, round_, closed, since, FIRST_ROUND_BIT + k))
            continue
        extra = (k - FLAG_ROUNDS) % EXTRA_ROUNDS
        if extra == 0:
            groups.append([])
        groups[-1].append(_attended(s, round_, closed, since, extra))
    stmt = (
        select(
            Person.id,
            *(_sum(group) for group in groups),
            case(
                (s.last_sampled_us >= since_us, s.last_sampled_us),
                else_=func.coalesce(s.last_negative_us, NO_TIME),
            ),
            func.coalesce(s.last_negative_us, NO_TIME),
        )
        .outerjoin(s, s.person_id == Person.id)
        .order_by(Person.id)
    )
    values = int_columns(session, stmt)
    if len(values[0]) > 1 and not bool(np.all(values[0][1:] > values[0][:-1])):
        # The aggregate is not bound to keep the subquery's order: sort by id if it did not.
        order = np.argsort(values[0], kind="stable")
        values = [column[order] for column in values]
    if not by_bits:
        table.drop(connection)
    width = len(values)
    flags = values[1]
    came = []
    for k in range(len(rounds)):
        if k < FLAG_ROUNDS:
            came.append((flags >> (FIRST_ROUND_BIT + k)) & 1 == 1)
        else:
            column = values[2 + (k - FLAG_ROUNDS) // EXTRA_ROUNDS]
            came.append((column >> ((k - FLAG_ROUNDS) % EXTRA_ROUNDS)) & 1 == 1)
    if by_bits:
        covered = {p: (flags >> (PATH_SHIFT + k)) & 1 == 1 for k, p in enumerate(wanted)}
    else:
        path_of = flags >> PATH_SHIFT
        covered = {}
        for p in wanted:
            under = np.fromiter((path.startswith(p) for path in paths), dtype=np.bool_)
            covered[p] = under[path_of] if paths else np.zeros(len(flags), dtype=np.bool_)
    return PeopleScan(
        ids=values[0],
        covered=covered,
        key_worker=flags & KEY_WORKER != 0,
        pool_candidate=flags & POOL_CANDIDATE != 0,
        later_sample=flags & LATER_SAMPLE != 0,
        came=came,
        latest_sample=values[width - 2],
        latest_negative=values[width - 1],
    )
