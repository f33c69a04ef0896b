"""The facts of the people an event touched, as columns, and their decisions.

``columns.read`` scans whole tables: right for a population, wasteful for the ten thousand
people a lab's results touch. This reads the same facts (``columns.FactColumns``) with the same
set-based statements restricted to a batch of ids (bound as one parameter, ``db.ids.among``):
one grouped scan of their samples, one of their older negatives, one of the people, times
computed in SQL as integers. The rare facts (cases, contacts, companions, isolation orders,
residence risk, positive pools) come from the providers themselves, which return only the
people who have them. The decisions are then ``vector.evaluate``'s, the rule the full
recompute applies, which tests/healthcode/test_vector.py holds equal to ``rules.evaluate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from fangkong.db.ids import among
from fangkong.healthcode import providers, vector
from fangkong.healthcode.columns import (
    CASE_VALUES,
    CONTACT_VALUES,
    NO_TIME,
    RISK_VALUES,
    SUPERVISION_VALUES,
    Bools,
    FactColumns,
    Int64s,
    epoch,
    micros,
    micros_or_none,
    no_times,
    raw_rows,
    rounds_in_view,
)
from fangkong.healthcode.schemas import CodeDecision, HealthCodeSection
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Person
from fangkong.testing.enums import LabResult
from fangkong.testing.models import Tube, TubeMember, TubeResult


def decide(
    *, session: Session, person_ids: Sequence[int], now: datetime, pack: HealthCodeSection
) -> dict[int, CodeDecision]:
    """The rules' decision for each registered person of ``person_ids`` at ``now`` (overrides
    not applied). People of a batch share a few outcomes, so they share decision objects."""
    facts = read(session=session, person_ids=person_ids, now=now)
    decided = vector.evaluate(session=session, columns=facts, now=now, pack=pack)
    shared: dict[tuple[int, int], CodeDecision] = {}
    found: dict[int, CodeDecision] = {}
    keys = zip(decided.outcome.tolist(), decided.valid_until.tolist(), strict=True)
    for at, (pid, key) in enumerate(zip(facts.ids.tolist(), keys, strict=True)):
        decision = shared.get(key)
        if decision is None:
            decision = shared[key] = decided.decision(at, now)
        found[pid] = decision
    return found


def read(*, session: Session, person_ids: Sequence[int], now: datetime) -> FactColumns:
    """The facts of the registered people among ``person_ids`` at ``now``, in id order."""
    dialect = session.get_bind().dialect
    wanted = sorted(set(person_ids))
    people = raw_rows(
        session,
        select(Person.id, Person.area_path, Person.tags)
        .where(among(Person.id, wanted, dialect))
        .order_by(Person.id),
    )
    size = len(people)
    ids = np.fromiter((p[0] for p in people), dtype=np.int64, count=size)
    paths = [p[1] for p in people]
    tags = np.fromiter((p[2] or 0 for p in people), dtype=np.int64, count=size)
    rounds, since = rounds_in_view(session=session, now=now)
    listed = ids.tolist()
    latest_sample, latest_negative, attended = _samples(session, ids, now, since, rounds)
    # Older negatives only stand in where nothing recent was taken (they are before ``since``).
    for pid, at_time in _older_negatives(session, listed, since):
        at = int(np.searchsorted(ids, pid))
        if latest_sample[at] == NO_TIME:
            latest_sample[at] = at_time
        if latest_negative[at] == NO_TIME:
            latest_negative[at] = at_time
    columns = FactColumns.from_testing(
        ids=ids,
        key_worker=(tags & int(PersonTag.KEY_WORKER)) != 0,
        latest_sample=latest_sample,
        latest_negative=latest_negative,
        skipped=[
            _in_area(paths, r.area_path) & ~came for r, came in zip(rounds, attended, strict=True)
        ],
        round_closed=[micros(r.ends_at) for r in rounds],
    )
    _read_rare(session, columns, listed, since, now)
    return columns


def _in_area(paths: Sequence[str], prefix: str) -> Bools:
    return np.fromiter(
        (path.startswith(prefix) for path in paths), dtype=np.bool_, count=len(paths)
    )


def _samples(
    session: Session, ids: Int64s, now: datetime, since: datetime, rounds: Sequence[Any]
) -> tuple[Int64s, Int64s, list[Bools]]:
    """One grouped scan of the people's samples since ``since``, each with its tube's latest
    result: the latest sample taken by now, the latest negative, and which rounds they came
    to."""
    dialect = session.get_bind().dialect
    mine = among(TubeMember.person_id, ids.tolist(), dialect)
    latest = (
        select(TubeResult.tube_id, func.max(TubeResult.reported_at).label("reported_at"))
        .join(TubeMember, TubeMember.tube_id == TubeResult.tube_id)
        .where(mine, TubeMember.sampled_at >= since)
        .group_by(TubeResult.tube_id)
        .subquery()
    )
    taken = TubeMember.sampled_at <= now
    negative = and_(taken, TubeResult.result == str(LabResult.NOT_DETECTED))
    stmt: Select[Any] = (
        select(
            TubeMember.person_id,
            epoch(func.max(case((taken, TubeMember.sampled_at))), dialect.name),
            epoch(func.max(case((negative, TubeMember.sampled_at))), dialect.name),
            *(
                func.max(case((Tube.campaign_id == r.id, literal(1)), else_=literal(0)))
                for r in rounds
            ),
        )
        .join(Tube, Tube.id == TubeMember.tube_id)
        .outerjoin(latest, latest.c.tube_id == TubeMember.tube_id)
        .outerjoin(
            TubeResult,
            and_(
                TubeResult.tube_id == TubeMember.tube_id,
                TubeResult.reported_at == latest.c.reported_at,
            ),
        )
        .where(mine, TubeMember.sampled_at >= since)
        .group_by(TubeMember.person_id)
        .order_by(TubeMember.person_id)
    )
    rows = np.array(raw_rows(session, stmt), dtype=np.int64).reshape(-1, 3 + len(rounds))
    at = np.searchsorted(ids, rows[:, 0])
    latest_sample, latest_negative = no_times(len(ids)), no_times(len(ids))
    latest_sample[at] = rows[:, 1]
    latest_negative[at] = rows[:, 2]
    attended = []
    for k in range(len(rounds)):
        came = np.zeros(len(ids), dtype=np.bool_)
        came[at] = rows[:, 3 + k] == 1
        attended.append(came)
    return latest_sample, latest_negative, attended


def _older_negatives(
    session: Session, ids: list[int], before: datetime
) -> Sequence[tuple[int, int]]:
    dialect = session.get_bind().dialect
    stmt = (
        select(TubeMember.person_id, epoch(func.max(TubeMember.sampled_at), dialect.name))
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            among(TubeMember.person_id, ids, dialect),
            TubeMember.sampled_at < before,
            TubeResult.result == str(LabResult.NOT_DETECTED),
        )
        .group_by(TubeMember.person_id)
    )
    return [(int(pid), int(at)) for pid, at in raw_rows(session, stmt)]


def _read_rare(
    session: Session, columns: FactColumns, ids: list[int], since: datetime, now: datetime
) -> None:
    """The facts few people have, from the providers (each returns only those people)."""
    dialect = session.get_bind().dialect

    def position(pid: int) -> int:
        return int(np.searchsorted(columns.ids, pid))

    pooled = session.scalars(
        select(TubeMember.person_id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            among(TubeMember.person_id, ids, dialect),
            TubeMember.sampled_at >= since,
            Tube.member_count > 1,
            TubeResult.result == str(LabResult.DETECTED),
        )
        .distinct()
    ).all()
    for pid, testing in columns.testing_of(
        session=session, person_ids=sorted(pooled), now=now
    ).items():
        if testing.is_in_positive_pool_awaiting_review:
            columns.pool[position(pid)] = True
            columns.pool_at[position(pid)] = micros_or_none(testing.pool_flagged_at)
    for pid, tracing in providers.tracing_facts(session=session, person_ids=ids, now=now).items():
        at = position(pid)
        columns.case[at] = CASE_VALUES.index(tracing.case_status)
        columns.case_since[at] = micros_or_none(tracing.case_status_since)
        columns.contact[at] = CONTACT_VALUES.index(tracing.contact)
        columns.contact_since[at] = micros_or_none(tracing.last_exposure_at)
        columns.companion_at[at] = micros_or_none(tracing.companion_flagged_at)
    for pid, isolation in providers.isolation_facts(
        session=session, person_ids=ids, now=now
    ).items():
        at = position(pid)
        columns.supervision[at] = SUPERVISION_VALUES.index(isolation.supervision)
        columns.supervision_since[at] = micros_or_none(isolation.supervision_since)
    for pid, area in providers.area_facts(session=session, person_ids=ids, now=now).items():
        at = position(pid)
        columns.residence[at] = RISK_VALUES.index(area.residence_risk)
        columns.residence_since[at] = micros_or_none(area.residence_risk_since)
