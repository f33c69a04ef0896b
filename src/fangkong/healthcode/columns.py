"""The facts of a whole population as columns (NumPy arrays aligned on person id), for the
full recompute.

Read with a handful of set-based statements over the whole tables instead of the providers'
per-chunk queries: one grouped scan of the samples (latest sample, latest negative and round
attendance per person), one of older negatives, one of people. Times are integer microseconds
since the epoch (UTC), computed in SQL, so millions of rows never become Python datetimes.

The rare facts (cases, contacts, companions, isolation orders, positive pools) concern few
people: they are read through the providers themselves for just those people, so both paths
share one definition of them. Visits to risk areas and arrivals have no provider yet: their
columns are absent and their conditions never hold, as in ``PersonFacts``' defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, Integer, Select, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.areas.enums import DesignationStatus, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.healthcode import providers
from fangkong.healthcode.enums import CaseStatus, ContactKind, RiskLevel, Supervision
from fangkong.healthcode.facts import TestingFacts
from fangkong.isolation.enums import OrderStatus
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Building, Household, Person
from fangkong.testing.enums import CampaignStatus, LabResult
from fangkong.testing.models import TestCampaign, Tube, TubeMember, TubeResult
from fangkong.tracing.models import Case, CompanionFlag, Contact

Int64s = NDArray[np.int64]
Bools = NDArray[np.bool_]
# "No such time": below every real time, so a maximum ignores it.
NO_TIME = np.int64(-(2**62))
# People per provider call for the rare facts (their ids are bound as one parameter).
RARE_CHUNK = 5000

CASE_VALUES = tuple(CaseStatus)
CONTACT_VALUES = tuple(ContactKind)
SUPERVISION_VALUES = tuple(Supervision)
RISK_VALUES = tuple(RiskLevel)


def micros(at: datetime) -> int:
    """An aware datetime as microseconds since the epoch."""
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def epoch(value: Any, dialect: str) -> ColumnElement[Any]:
    """``value`` (a stored UTC datetime, maybe NULL) as epoch microseconds, ``NO_TIME`` if
    NULL. SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text; PostgreSQL a timestamptz."""
    us: ColumnElement[Any]
    if dialect == "postgresql":
        us = cast(func.extract("epoch", value) * 1_000_000, BigInteger)
    else:
        us = cast(func.strftime("%s", value), Integer) * 1_000_000 + cast(
            func.substr(value, 21, 6), Integer
        )
    return func.coalesce(us, int(NO_TIME))


@dataclass
class FactColumns:
    """One entry per person, in ascending id order. Categorical facts are indexes into the
    ``*_VALUES`` tuples; times are epoch microseconds or ``NO_TIME``."""

    ids: Int64s
    key_worker: Bools
    latest_sample: Int64s  # the latest sample taken by now (any result), as the engine sees it
    latest_negative: Int64s
    # One row per closed round in view: the people in its scope who never came.
    skipped: list[Bools]
    round_closed: list[int]
    pool: Bools
    pool_at: Int64s
    case: Int64s
    case_since: Int64s
    contact: Int64s
    contact_since: Int64s
    supervision: Int64s
    supervision_since: Int64s
    residence: Int64s
    residence_since: Int64s
    companion_at: Int64s
    # Testing facts of the few people a cleared-by rule needs samples of, read on demand.
    _testing: dict[int, TestingFacts] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, person_ids: Iterable[int]) -> Int64s:
        return np.searchsorted(self.ids, np.fromiter(person_ids, dtype=np.int64))

    def testing_of(
        self, *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, TestingFacts]:
        """The providers' testing facts of ``person_ids`` (samples included)."""
        missing = [pid for pid in person_ids if pid not in self._testing]
        for start in range(0, len(missing), RARE_CHUNK):
            chunk = missing[start : start + RARE_CHUNK]
            found = providers.testing_facts(session=session, person_ids=chunk, now=now)
            for pid in chunk:
                self._testing[pid] = found.get(pid, TestingFacts())
        return {pid: self._testing[pid] for pid in person_ids}


def raw_rows(session: Session, stmt: Select[Any]) -> Sequence[Any]:
    """The driver's own tuples, without the ORM's or the result's per-row processing (millions
    of rows; every column here needs no conversion: times come as integers from SQL)."""
    result = session.connection().execute(stmt)
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
    finally:
        result.close()
    return rows


def _int_rows(session: Session, stmt: Select[Any], width: int) -> Int64s:
    flat = np.fromiter(chain.from_iterable(raw_rows(session, stmt)), dtype=np.int64)
    return flat.reshape(-1, width)


def _times(size: int) -> Int64s:
    return np.full(size, NO_TIME, dtype=np.int64)


def read(*, session: Session, now: datetime) -> FactColumns:
    """Every registered person's facts at ``now`` (the same facts the providers give)."""
    dialect = session.get_bind().dialect.name
    people = raw_rows(session, select(Person.id, Person.area_path, Person.tags).order_by(Person.id))
    size = len(people)
    ids = np.fromiter((p[0] for p in people), dtype=np.int64, count=size)
    paths: dict[str, int] = {}
    path_of = np.fromiter(
        (paths.setdefault(p[1], len(paths)) for p in people), dtype=np.int64, count=size
    )
    tags = np.fromiter((p[2] or 0 for p in people), dtype=np.int64, count=size)
    del people
    unique_paths = list(paths)

    def in_area(prefix: str) -> Bools:
        covered = np.fromiter((p.startswith(prefix) for p in unique_paths), dtype=np.bool_)
        return covered[path_of] if len(unique_paths) else np.zeros(size, dtype=np.bool_)

    rounds = session.execute(
        select(
            TestCampaign.id, TestCampaign.area_path, TestCampaign.starts_at, TestCampaign.ends_at
        ).where(
            TestCampaign.status == str(CampaignStatus.CLOSED),
            TestCampaign.ends_at >= now - providers.ROUND_LOOKBACK,
            TestCampaign.ends_at <= now,
        )
    ).all()
    since = min([now - providers.SAMPLE_LOOKBACK, *(r.starts_at for r in rounds)])
    latest_sample, latest_negative, attended = _samples(session, dialect, ids, now, since, rounds)
    older = _older_negatives(session, dialect, since)
    at = np.searchsorted(ids, older[:, 0])
    # Older negatives only stand in where nothing recent was taken (they are before ``since``).
    latest_sample[at] = np.where(latest_sample[at] == NO_TIME, older[:, 1], latest_sample[at])
    latest_negative[at] = np.where(latest_negative[at] == NO_TIME, older[:, 1], latest_negative[at])
    columns = FactColumns(
        ids=ids,
        key_worker=(tags & int(PersonTag.KEY_WORKER)) != 0,
        latest_sample=latest_sample,
        latest_negative=latest_negative,
        skipped=[in_area(r.area_path) & ~came for r, came in zip(rounds, attended, strict=True)],
        round_closed=[micros(r.ends_at) for r in rounds],
        pool=np.zeros(size, dtype=np.bool_),
        pool_at=_times(size),
        case=np.zeros(size, dtype=np.int64),
        case_since=_times(size),
        contact=np.zeros(size, dtype=np.int64),
        contact_since=_times(size),
        supervision=np.zeros(size, dtype=np.int64),
        supervision_since=_times(size),
        residence=np.zeros(size, dtype=np.int64),
        residence_since=_times(size),
        companion_at=_times(size),
    )
    _read_pools(session, columns, since, now)
    _read_tracing(session, columns, now)
    _read_isolation(session, columns, now)
    _read_residence(session, columns, in_area)
    return columns


def _samples(
    session: Session,
    dialect: str,
    ids: Int64s,
    now: datetime,
    since: datetime,
    rounds: Sequence[Any],
) -> tuple[Int64s, Int64s, list[Bools]]:
    """One grouped scan of the samples since ``since``, each with its tube's latest result."""
    latest = (
        select(TubeResult.tube_id, func.max(TubeResult.reported_at).label("reported_at"))
        .join(TubeMember, TubeMember.tube_id == TubeResult.tube_id)
        .where(TubeMember.sampled_at >= since)
        .group_by(TubeResult.tube_id)
        .subquery()
    )
    taken = TubeMember.sampled_at <= now
    negative = and_(taken, TubeResult.result == str(LabResult.NOT_DETECTED))
    stmt = (
        select(
            TubeMember.person_id,
            epoch(func.max(case((taken, TubeMember.sampled_at))), dialect),
            epoch(func.max(case((negative, TubeMember.sampled_at))), dialect),
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
        .where(TubeMember.sampled_at >= since)
        .group_by(TubeMember.person_id)
        .order_by(TubeMember.person_id)
    )
    rows = _int_rows(session, stmt, 3 + len(rounds))
    at = np.searchsorted(ids, rows[:, 0])
    latest_sample, latest_negative = _times(len(ids)), _times(len(ids))
    latest_sample[at] = rows[:, 1]
    latest_negative[at] = rows[:, 2]
    attended = []
    for k in range(len(rounds)):
        came = np.zeros(len(ids), dtype=np.bool_)
        came[at] = rows[:, 3 + k] == 1
        attended.append(came)
    return latest_sample, latest_negative, attended


def _older_negatives(session: Session, dialect: str, before: datetime) -> Int64s:
    stmt = (
        select(TubeMember.person_id, epoch(func.max(TubeMember.sampled_at), dialect))
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            TubeMember.sampled_at < before,
            TubeResult.result == str(LabResult.NOT_DETECTED),
        )
        .group_by(TubeMember.person_id)
    )
    return _int_rows(session, stmt, 2)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), RARE_CHUNK):
        yield ordered[start : start + RARE_CHUNK]


def _read_pools(session: Session, columns: FactColumns, since: datetime, now: datetime) -> None:
    """Members of a positive pool since ``since`` (a superset: the provider decides)."""
    candidates = set(
        session.scalars(
            select(TubeMember.person_id)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
            .where(
                TubeMember.sampled_at >= since,
                Tube.member_count > 1,
                TubeResult.result == str(LabResult.DETECTED),
            )
            .distinct()
        )
    )
    found = columns.testing_of(session=session, person_ids=sorted(candidates), now=now)
    for pid, testing in found.items():
        if testing.is_in_positive_pool_awaiting_review:
            at = int(columns.positions([pid])[0])
            columns.pool[at] = True
            if testing.pool_flagged_at is not None:
                columns.pool_at[at] = micros(testing.pool_flagged_at)


def _read_tracing(session: Session, columns: FactColumns, now: datetime) -> None:
    people = set(session.scalars(select(Case.person_id).distinct()))
    people |= set(session.scalars(select(Contact.person_id).distinct()))
    people |= set(session.scalars(select(CompanionFlag.person_id).distinct()))
    for chunk in _chunks([pid for pid in people if pid is not None]):
        for pid, facts in providers.tracing_facts(
            session=session, person_ids=chunk, now=now
        ).items():
            at = int(columns.positions([pid])[0])
            columns.case[at] = CASE_VALUES.index(facts.case_status)
            columns.case_since[at] = _or_none(facts.case_status_since)
            columns.contact[at] = CONTACT_VALUES.index(facts.contact)
            columns.contact_since[at] = _or_none(facts.last_exposure_at)
            columns.companion_at[at] = _or_none(facts.companion_flagged_at)


def _read_isolation(session: Session, columns: FactColumns, now: datetime) -> None:
    people = session.scalars(
        select(IsolationOrder.person_id)
        .where(IsolationOrder.status == str(OrderStatus.ACTIVE))
        .distinct()
    )
    for chunk in _chunks(list(people)):
        for pid, facts in providers.isolation_facts(
            session=session, person_ids=chunk, now=now
        ).items():
            at = int(columns.positions([pid])[0])
            columns.supervision[at] = SUPERVISION_VALUES.index(facts.supervision)
            columns.supervision_since[at] = _or_none(facts.supervision_since)


def _or_none(at: datetime | None) -> int:
    return int(NO_TIME) if at is None else micros(at)


def _read_residence(session: Session, columns: FactColumns, in_area: Any) -> None:
    """``providers.area_facts`` for everyone: each confirmed designation, in the order the
    provider reads them, takes the people it covers whose level it raises."""
    designations = session.execute(
        select(
            RiskDesignation.target_kind,
            RiskDesignation.area_path,
            RiskDesignation.compound_id,
            RiskDesignation.building_id,
            RiskDesignation.unit,
            RiskDesignation.level,
            RiskDesignation.since,
        ).where(RiskDesignation.status == str(DesignationStatus.CONFIRMED))
    ).all()
    if not designations:
        return
    homes = None
    if any(d.target_kind != str(TargetKind.AREA) for d in designations):
        homes = _homes(session, columns)
    rank = np.full(len(columns), len(providers.RISK_ORDER), dtype=np.int64)
    for d in designations:
        level = providers.AREA_LEVEL.get(d.level)
        if level is None:
            continue
        covers = _covers(d, in_area, homes)
        if covers is None:
            continue
        better = covers & (rank > providers.RISK_ORDER.index(level))
        rank[better] = providers.RISK_ORDER.index(level)
        columns.residence[better] = RISK_VALUES.index(level)
        columns.residence_since[better] = micros(d.since)


@dataclass
class _Homes:
    building: Int64s  # -1 without a household in a building
    compound: Int64s
    unit: Int64s  # index into ``units``
    units: dict[str | None, int]


def _homes(session: Session, columns: FactColumns) -> _Homes:
    rows = raw_rows(
        session,
        select(Person.id, Household.building_id, Household.unit, Building.compound_id)
        .outerjoin(Household, Household.id == Person.household_id)
        .outerjoin(Building, Building.id == Household.building_id)
        .order_by(Person.id),
    )
    units: dict[str | None, int] = {}
    return _Homes(
        building=np.fromiter((-1 if r[1] is None else r[1] for r in rows), dtype=np.int64),
        compound=np.fromiter((-1 if r[3] is None else r[3] for r in rows), dtype=np.int64),
        unit=np.fromiter((units.setdefault(r[2], len(units)) for r in rows), dtype=np.int64),
        units=units,
    )


def _covers(d: Any, in_area: Any, homes: _Homes | None) -> Bools | None:
    kind = d.target_kind
    if kind == str(TargetKind.AREA):
        covered: Bools = in_area(d.area_path)
        return covered
    assert homes is not None
    housed = homes.building >= 0
    if kind == str(TargetKind.COMPOUND):
        compound: Bools = homes.compound == (-1 if d.compound_id is None else d.compound_id)
        return housed & compound
    building: Bools = homes.building == d.building_id
    if kind == str(TargetKind.BUILDING):
        return housed & building
    if kind == str(TargetKind.UNIT):
        unit: Bools = homes.unit == homes.units.get(d.unit, -1)
        return housed & building & unit
    return None
