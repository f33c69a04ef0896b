"""The facts of a whole population as columns (NumPy arrays aligned on person id), for the
full recompute.

Testing facts come from one scan of the people with their per-person test summaries
(``scan``, kept by the testing domain): no grouping of millions of samples at run time. Times
are integer microseconds since the epoch (UTC), so millions of rows never become Python
datetimes.

The rare facts (cases, contacts, companions, isolation orders, positive pools, people sampled
after ``now``) concern few people: they are read through the providers themselves for just
those people, so both paths share one definition of them. Visits to risk areas and arrivals
have no provider yet: their columns are absent and their conditions never hold, as in
``PersonFacts``' defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, Integer, Select, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.areas.enums import TargetKind
from fangkong.healthcode import providers, scan
from fangkong.healthcode.enums import CaseStatus, ContactKind, RiskLevel, SampleResult, Supervision
from fangkong.healthcode.facts import TestingFacts
from fangkong.isolation.enums import OrderStatus
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Building, Household, Person
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import TestCampaign
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

    @classmethod
    def from_testing(
        cls,
        *,
        ids: Int64s,
        key_worker: Bools,
        latest_sample: Int64s,
        latest_negative: Int64s,
        skipped: list[Bools],
        round_closed: list[int],
    ) -> FactColumns:
        """The people's testing facts; every other fact empty, for the readers to fill."""
        size = len(ids)
        return cls(
            ids=ids,
            key_worker=key_worker,
            latest_sample=latest_sample,
            latest_negative=latest_negative,
            skipped=skipped,
            round_closed=round_closed,
            pool=np.zeros(size, dtype=np.bool_),
            pool_at=no_times(size),
            case=np.zeros(size, dtype=np.int64),
            case_since=no_times(size),
            contact=np.zeros(size, dtype=np.int64),
            contact_since=no_times(size),
            supervision=np.zeros(size, dtype=np.int64),
            supervision_since=no_times(size),
            residence=np.zeros(size, dtype=np.int64),
            residence_since=no_times(size),
            companion_at=no_times(size),
        )

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


def no_times(size: int) -> Int64s:
    return np.full(size, NO_TIME, dtype=np.int64)


def rounds_in_view(*, session: Session, now: datetime) -> tuple[Sequence[Any], datetime]:
    """The closed rounds whose absentees the rules look at, and the moment from which samples
    matter (the sample look-back, or the first of those rounds' start if earlier)."""
    rounds = session.execute(
        select(
            TestCampaign.id, TestCampaign.area_path, TestCampaign.starts_at, TestCampaign.ends_at
        ).where(
            TestCampaign.status == str(CampaignStatus.CLOSED),
            TestCampaign.ends_at >= now - providers.ROUND_LOOKBACK,
            TestCampaign.ends_at <= now,
        )
    ).all()
    return rounds, min([now - providers.SAMPLE_LOOKBACK, *(r.starts_at for r in rounds)])


def read(*, session: Session, now: datetime) -> FactColumns:
    """Every registered person's facts at ``now`` (the same facts the providers give)."""
    rounds, since = rounds_in_view(session=session, now=now)
    closed = [micros(r.ends_at) for r in rounds]
    designations = providers.confirmed_designations(session=session)
    areas = [d.area_path for d in designations if d.target_kind == str(TargetKind.AREA)]
    people = scan.read(
        session=session,
        now_us=micros(now),
        since=since,
        since_us=micros(since),
        rounds=rounds,
        closed_us=closed,
        prefixes=[*(r.area_path for r in rounds), *areas],
    )

    def in_area(prefix: str) -> Bools:
        return people.covered[prefix]

    columns = FactColumns.from_testing(
        ids=people.ids,
        key_worker=people.key_worker,
        latest_sample=people.latest_sample,
        latest_negative=people.latest_negative,
        skipped=[in_area(r.area_path) & ~came for r, came in zip(rounds, people.came, strict=True)],
        round_closed=closed,
    )
    _read_later_samples(session, columns, people.later_sample, rounds, now)
    _read_pools(session, columns, people.pool_candidate, now)
    _read_tracing(session, columns, now)
    _read_isolation(session, columns, now)
    _read_residence(session, columns, designations, in_area)
    return columns


def _read_later_samples(
    session: Session, columns: FactColumns, later: Bools, rounds: Sequence[Any], now: datetime
) -> None:
    """People sampled after ``now`` (a recompute as of an earlier moment): the summary holds
    their latest sample, not the latest one by ``now``, so the provider gives their facts."""
    people = columns.ids[later].tolist()
    found = columns.testing_of(session=session, person_ids=people, now=now)
    for pid, testing in found.items():
        at = int(columns.positions([pid])[0])
        taken = [s for s in testing.samples if s.sampled_at <= now]
        negatives = [s for s in taken if s.result is SampleResult.NEGATIVE]
        columns.latest_sample[at] = max((micros(s.sampled_at) for s in taken), default=NO_TIME)
        columns.latest_negative[at] = max(
            (micros(s.sampled_at) for s in negatives), default=NO_TIME
        )
        missed = {s.round_id for s in testing.skipped_rounds}
        for k, r in enumerate(rounds):
            columns.skipped[k][at] = f"campaign-{r.id}" in missed


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), RARE_CHUNK):
        yield ordered[start : start + RARE_CHUNK]


def _read_pools(session: Session, columns: FactColumns, candidates: Bools, now: datetime) -> None:
    """Members of a positive pool since ``since`` (a superset: the provider decides)."""
    found = columns.testing_of(
        session=session, person_ids=columns.ids[candidates].tolist(), now=now
    )
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
            columns.case_since[at] = micros_or_none(facts.case_status_since)
            columns.contact[at] = CONTACT_VALUES.index(facts.contact)
            columns.contact_since[at] = micros_or_none(facts.last_exposure_at)
            columns.companion_at[at] = micros_or_none(facts.companion_flagged_at)


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
            columns.supervision_since[at] = micros_or_none(facts.supervision_since)


def micros_or_none(at: datetime | None) -> int:
    return int(NO_TIME) if at is None else micros(at)


def _read_residence(
    session: Session, columns: FactColumns, designations: Sequence[Any], in_area: Any
) -> None:
    """``providers.area_facts`` for everyone: each confirmed designation, in the order the
    provider reads them, takes the people it covers whose level it raises."""
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
