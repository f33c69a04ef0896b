"""The full recompute of a whole population: facts read as columns, the rule evaluated over
them (``vector``), the stored codes read in one scan, and only the codes that differ written,
through the same set-based writers (and audit events) as the per-batch recompute.

People with an override in force go through the per-person path: an override replaces the
rules' decision, and there are few of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from fangkong.healthcode import columns as fact_columns
from fangkong.healthcode import service, vector
from fangkong.healthcode.enums import OverrideStatus
from fangkong.healthcode.models import CodeOverride, HealthCode
from fangkong.healthcode.schemas import HealthCodeSection

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


def recompute(*, session: Session, now: datetime, pack: HealthCodeSection) -> Totals:
    """Evaluate everyone, write what changed (committing every ``WRITE_CHUNK`` people)."""
    columns = fact_columns.read(session=session, now=now)
    decisions = vector.evaluate(session=session, columns=columns, now=now, pack=pack)
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
    return Totals(len(columns), tuple(sorted(changed)), tuple(sorted(refreshed)), tuple(conflicted))


def _differing(
    session: Session,
    columns: fact_columns.FactColumns,
    decisions: vector.Decisions,
    overridden: set[int],
) -> tuple[list[int], dict[int, StoredRow]]:
    """The people whose stored code differs from the decision (or who have none), in id order,
    with their stored rows. Compared per distinct (stored, decided) pair, then valid_until."""
    dialect = session.get_bind().dialect.name
    rows = fact_columns.raw_rows(
        session,
        select(
            HealthCode.person_id,
            HealthCode.revision,
            fact_columns.epoch(HealthCode.valid_until, dialect),
            HealthCode.colour,
            HealthCode.rule_id,
            HealthCode.pack_id,
            HealthCode.pack_version,
            cast(HealthCode.reasons, String),
        ).order_by(HealthCode.person_id),
    )
    kinds: dict[tuple[Any, ...], int] = {}
    ids, revisions, untils, kind_of = [], [], [], []
    for pid, revision, until, *kind in rows:
        ids.append(pid)
        revisions.append(revision)
        untils.append(until)
        kind_of.append(kinds.setdefault(tuple(kind), len(kinds)))
    stored_kinds = [(c, r, p, v, tuple(json.loads(text))) for c, r, p, v, text in kinds]
    size = len(columns)
    has_row = np.zeros(size, dtype=np.bool_)
    same = np.zeros(size, dtype=np.bool_)
    if ids:
        at = columns.positions(ids)
        has_row[at] = True
        pair = (
            np.asarray(kind_of, dtype=np.int64) * len(decisions.outcomes) + (decisions.outcome[at])
        )
        pairs, inverse = np.unique(pair, return_inverse=True)
        alike = np.array([_alike(stored_kinds, decisions, int(p)) for p in pairs.tolist()])
        stored_until = np.asarray(untils, dtype=np.int64)
        decided_until = decisions.valid_until[at]
        same_until = np.where(
            stored_until == fact_columns.NO_TIME,
            decided_until == vector.NEVER,
            stored_until == decided_until,
        )
        same[at] = alike[inverse] & same_until
    stale_at = np.flatnonzero(~same)
    stale = [pid for pid in columns.ids[stale_at].tolist() if pid not in overridden]
    wanted = set(stale)
    stored = {
        pid: _row(pid, revision, until, stored_kinds[kind])
        for pid, revision, until, kind in zip(ids, revisions, untils, kind_of, strict=True)
        if pid in wanted
    }
    return stale, stored


def _alike(stored_kinds: list[tuple[Any, ...]], decisions: vector.Decisions, pair: int) -> bool:
    kind, outcome = divmod(pair, len(decisions.outcomes))
    colour, rule_id, pack_id, pack_version, reasons = stored_kinds[kind]
    rule, decided_reasons = decisions.outcomes[outcome]
    pack = decisions.pack
    return bool(
        colour == rule.colour
        and rule_id == rule.id
        and pack_id == pack.pack_id
        and pack_version == pack.pack_version
        and reasons == decided_reasons
    )


def _row(pid: int, revision: int, until: int, kind: Iterable[Any]) -> StoredRow:
    colour, rule_id, pack_id, pack_version, reasons = kind
    return StoredRow(
        pid,
        colour,
        rule_id,
        pack_id,
        pack_version,
        list(reasons),
        None if until == fact_columns.NO_TIME else fact_columns.from_micros(until),
        revision,
    )
