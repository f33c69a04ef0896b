"""Scheduled recomputes: everyone (nightly, or after a pack change), the codes that fall due,
and the people whose facts changed since the last run (every few minutes).

Both walk people in id order, one chunk per transaction, so a city of millions never holds one
long transaction and a failure loses only the chunk in hand. Idempotent: a second run changes
nothing unless facts or time moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.healthcode import full, providers, service
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.registry.models import Person

BATCH = 5000
# An upload whose results touch at most this many people recomputes their codes at once.
INLINE_LIMIT = 20_000
# Below this many people the per-batch path is as quick, and reads far fewer rows at once.
VECTORISED_FROM = 50_000


@dataclass
class RecomputeReport:
    evaluated: int = 0
    changed: int = 0
    refreshed: int = 0
    conflicted: list[int] = field(default_factory=list)
    deferred: int = 0  # people left to the change-feed job (more than an inline run takes)

    def add(self, result: service.RecomputeResult, evaluated: int) -> None:
        self.evaluated += evaluated
        self.changed += len(result.changed)
        self.refreshed += len(result.refreshed)
        self.conflicted.extend(result.conflicted)


def recompute_all(
    *,
    session: Session,
    now: datetime,
    pack: HealthCodeSection | None = None,
    batch: int = BATCH,
    vectorised: bool | None = None,
) -> RecomputeReport:
    """Every registered person, committed batch by batch. From ``VECTORISED_FROM`` people on
    (or when ``vectorised`` says so), through the columnar path (``full``): the same codes,
    read and evaluated for everyone at once."""
    section = pack or service.pack_in_force(now=now)
    if vectorised is None:
        vectorised = (session.scalar(select(func.count(Person.id))) or 0) >= VECTORISED_FROM
    if vectorised:
        totals = full.recompute(session=session, now=now, pack=section)
        return RecomputeReport(
            evaluated=totals.evaluated,
            changed=len(totals.changed),
            refreshed=len(totals.refreshed),
            conflicted=list(totals.conflicted),
        )
    report = RecomputeReport()
    after = 0
    while True:
        ids = list(
            session.scalars(
                select(Person.id).where(Person.id > after).order_by(Person.id).limit(batch)
            )
        )
        if not ids:
            return report
        result = service.recompute_affected(session=session, person_ids=ids, now=now, pack=section)
        session.commit()
        report.add(result, len(ids))
        after = ids[-1]


def recompute_due(*, session: Session, now: datetime, batch: int = BATCH) -> RecomputeReport:
    """The codes whose ``valid_until`` has passed (a window lapsed, an override expired)."""
    section = service.pack_in_force(now=now)
    report = RecomputeReport()
    seen: set[int] = set()
    while True:
        ids = [
            pid
            for pid in service.due_for_recompute(session=session, now=now, limit=batch)
            if pid not in seen
        ]
        if not ids:
            return report
        seen.update(ids)
        result = service.recompute_affected(session=session, person_ids=ids, now=now, pack=section)
        session.commit()
        report.add(result, len(ids))


def recompute_changed(
    *,
    session: Session,
    since: datetime,
    now: datetime,
    batch: int = BATCH,
    limit: int | None = None,
) -> RecomputeReport:
    """The people whose facts moved at or after ``since`` (see ``providers.changed_since``):
    the event-driven recompute, run after an upload, a confirmed investigation or an order.
    With ``limit``, more people than that are left to the scheduled run (``deferred``), so a
    request that changed a whole round's results answers without waiting for their codes."""
    section = service.pack_in_force(now=now)
    report = RecomputeReport()
    ids = sorted(providers.changed_since(session=session, since=since))
    if limit is not None and len(ids) > limit:
        report.deferred = len(ids)
        return report
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        result = service.recompute_affected(
            session=session, person_ids=chunk, now=now, pack=section
        )
        session.commit()
        report.add(result, len(chunk))
    return report


def recompute_inline(*, session: Session, since: datetime) -> RecomputeReport:
    """For a request that has just committed a change of facts: recompute the people it moved
    (up to ``INLINE_LIMIT``; more are left to the change feed) and commit."""
    return recompute_changed(session=session, since=since, now=clock.now(), limit=INLINE_LIMIT)
