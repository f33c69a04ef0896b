"""The full recompute of a whole population: facts read as columns, the rule evaluated over
them (``vector``), the stored codes read in one scan, and only the codes that differ written,
through the same set-based writers (and audit events) as the per-batch recompute.

People with an override in force go through the per-person path: an override replaces the
rules' decision, and there are few of them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from typing import NamedTuple

import numpy as np
from sqlalchemy import BigInteger, Integer, String, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.db.ids import among
from fangkong.healthcode import columns as fact_columns
from fangkong.healthcode import scan, service, vector
from fangkong.healthcode.enums import OverrideStatus
from fangkong.healthcode.models import CodeOverride, HealthCode
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.testing import summary

WRITE_CHUNK = 5000


class StoredRow(NamedTuple):
    """What ``service._store_chunk`` reads of a stored code."""

    person_id: int
    colour: str
    rule_id: str
    pack_id: str
    pack_version: int
    reasons: list[str]
    valid_until: datetime | None
    revision: int


class Totals(NamedTuple):
    evaluated: int
    changed: tuple[int, ...]
    refreshed: tuple[int, ...]
    conflicted: tuple[int, ...]


class Stages:
    """Wall and CPU seconds (this process's: SQLite runs in it) of each stage of a run, for
    the benchmark and the operators' log."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def done(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.seconds[stage] = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


def recompute(
    *, session: Session, now: datetime, pack: HealthCodeSection, stages: Stages | None = None
) -> Totals:
    """Evaluate everyone, write what changed (committing every ``WRITE_CHUNK`` people)."""
    stages = stages or Stages()
    # The summaries must hold every result applied so far (results only queue their runs).
    if summary.fold_backlog(session=session):
        session.commit()
    stages.done("fold queued results")
    columns = fact_columns.read(session=session, now=now)
    stages.done("read facts")
    decisions = vector.evaluate(session=session, columns=columns, now=now, pack=pack)
    stages.done("evaluate")
    overridden = set(
        session.scalars(
            select(CodeOverride.person_id)
            .where(
                CodeOverride.status == str(OverrideStatus.ACTIVE),
                CodeOverride.expires_at > now,
            )
            .distinct()
        )
    )
    stale, stored = _differing(session, columns, decisions, overridden)
    stages.done("compare stored codes")
    changed: list[int] = []
    refreshed: list[int] = []
    conflicted: list[int] = []
    for start in range(0, len(stale), WRITE_CHUNK):
        chunk = stale[start : start + WRITE_CHUNK]
        positions = columns.positions(chunk)
        mine = {
            pid: decisions.decision(int(at), now) for pid, at in zip(chunk, positions, strict=True)
        }
        outcomes: dict[service.Stored, list[int]] = {kind: [] for kind in service.Stored}
        with session.no_autoflush:
            service.store_chunk(
                session,
                chunk,
                {pid: stored[pid] for pid in chunk if pid in stored},
                mine,
                outcomes,
            )
        session.commit()
        changed += outcomes[service.Stored.CHANGED]
        refreshed += outcomes[service.Stored.REFRESHED]
        conflicted += outcomes[service.Stored.CONFLICTED]
    stages.done("write changed codes")
    # Overridden people, and rows someone else wrote meanwhile, take the per-person path.
    retried = sorted(overridden | set(conflicted))
    conflicted = []
    for start in range(0, len(retried), WRITE_CHUNK):
        again = service.recompute_affected(
            session=session, person_ids=retried[start : start + WRITE_CHUNK], now=now, pack=pack
        )
        session.commit()
        changed += again.changed
        refreshed += again.refreshed
        conflicted += again.conflicted
    stages.done("overridden and conflicted, per person")
    return Totals(len(columns), tuple(sorted(changed)), tuple(sorted(refreshed)), tuple(conflicted))


# The stored code and its ``valid_until`` travel as one integer: ``valid_until * KINDS + k``,
# ``k`` the decided outcome the stored kind equals (``UNMATCHED`` for none).
KINDS = 1024
UNMATCHED = KINDS - 1


def _stored_kind(session: Session, decisions: vector.Decisions) -> ColumnElement[int]:
    """Which decided outcome a stored code's kind equals (colour, rule, pack, reasons), as
    ``CASE`` in SQL: four million stored codes never become Python objects."""
    pack = decisions.pack
    text = cast(HealthCode.reasons, String)
    whens = [
        (
            and_(
                HealthCode.colour == rule.colour,
                HealthCode.rule_id == rule.id,
                HealthCode.pack_id == pack.pack_id,
                HealthCode.pack_version == pack.pack_version,
                # How the JSON column stores the list (the serializer's default, escaped).
                text.in_(
                    {json.dumps(list(reasons)), json.dumps(list(reasons), ensure_ascii=False)}
                ),
            ),
            k,
        )
        for k, (rule, reasons) in enumerate(decisions.outcomes[:UNMATCHED])
    ]
    return case(*whens, else_=UNMATCHED) if whens else literal(UNMATCHED, BigInteger)


def _until_us(session: Session) -> ColumnElement[int]:
    """``valid_until`` in epoch microseconds, -1 when NULL. SQLite's ``unixepoch`` (3.38) is
    several times cheaper than ``strftime`` over millions of rows."""
    value = HealthCode.valid_until
    if session.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):
        us = func.unixepoch(value) * 1_000_000 + cast(func.substr(value, 21, 6), Integer)
        return func.coalesce(us, -1)
    return func.coalesce(summary.epoch_us(session, value), -1)


def _differing(
    session: Session,
    columns: fact_columns.FactColumns,
    decisions: vector.Decisions,
    overridden: set[int],
) -> tuple[list[int], dict[int, StoredRow]]:
    """The people whose stored code differs from the decision (or who have none), in id order,
    with their stored rows: compared in one scan of two integers per code, then the rows of
    those that differ read by id."""
    packed = _stored_kind(session, decisions) + literal(KINDS, BigInteger) * _until_us(session)
    ids, code = scan.int_columns(
        session, select(HealthCode.person_id, packed).order_by(HealthCode.person_id)
    )
    size = len(columns)
    same = np.zeros(size, dtype=np.bool_)
    if len(ids):
        at = columns.positions(ids)
        kind, until = code & (KINDS - 1), code // KINDS
        decided_until = decisions.valid_until[at]
        same_until = np.where(until == -1, decided_until == vector.NEVER, until == decided_until)
        same[at] = (kind == decisions.outcome[at]) & same_until
    stale_at = np.flatnonzero(~same)
    stale = [pid for pid in columns.ids[stale_at].tolist() if pid not in overridden]
    return stale, _stored_rows(session, stale)


def _stored_rows(session: Session, person_ids: list[int]) -> dict[int, StoredRow]:
    dialect = session.get_bind().dialect
    stored: dict[int, StoredRow] = {}
    for start in range(0, len(person_ids), WRITE_CHUNK):
        chunk = person_ids[start : start + WRITE_CHUNK]
        for row in session.execute(
            select(
                HealthCode.person_id,
                HealthCode.colour,
                HealthCode.rule_id,
                HealthCode.pack_id,
                HealthCode.pack_version,
                HealthCode.reasons,
                HealthCode.valid_until,
                HealthCode.revision,
            ).where(among(HealthCode.person_id, chunk, dialect))
        ).tuples():
            pid, colour, rule_id, pack_id, pack_version, reasons, until, revision = row
            stored[pid] = StoredRow(
                pid, colour, rule_id, pack_id, pack_version, list(reasons), until, revision
            )
    return stored
