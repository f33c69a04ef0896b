"""Fact providers: what the platform's own tables say about a batch of people.

Each provider reads one domain's tables for a chunk of person ids in a few set-based queries
(never one query per person) and returns that domain's group of facts per person. Adding a
domain is one more function appended to ``DEFAULT_PROVIDERS``.

The providers only read; they never write to another domain's tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row, and_, func, select
from sqlalchemy.orm import Session

from fangkong.areas.enums import DesignationStatus, TargetKind
from fangkong.areas.enums import RiskLevel as AreaRiskLevel
from fangkong.areas.models import RiskDesignation
from fangkong.db.ids import among
from fangkong.healthcode.enums import CaseStatus, ContactKind, RiskLevel, SampleResult, Supervision
from fangkong.healthcode.facts import (
    AreaFacts,
    IsolationFacts,
    Sample,
    SkippedRound,
    TestingFacts,
    TracingFacts,
)
from fangkong.isolation.enums import OrderStatus, PhaseKind
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Building, Household, Person
from fangkong.testing.enums import CampaignStatus, LabResult
from fangkong.testing.models import (
    PersonTestStatus,
    TestCampaign,
    Tube,
    TubeMember,
    TubeOutcome,
    TubeResult,
)
from fangkong.tracing.enums import CaseKind, ContactCategory, ContactStatus
from fangkong.tracing.enums import CaseStatus as CaseCourse
from fangkong.tracing.models import Case, CompanionFlag, Contact
from fangkong.vaccination.models import DoseRecord

# Samples older than this say nothing a rule looks at, except the latest negative (its age
# matters to "negative older than"), which is always read.
SAMPLE_LOOKBACK = timedelta(days=14)
# Closed rounds within this look-back count as "skipped" for people in scope who never came.
ROUND_LOOKBACK = timedelta(days=14)

DETECTED = str(LabResult.DETECTED)
LAB_TO_SAMPLE = {
    str(LabResult.NOT_DETECTED): SampleResult.NEGATIVE,
    str(LabResult.DETECTED): SampleResult.POSITIVE,
}
SUPERVISION_OF_PHASE = {
    str(PhaseKind.CENTRALISED): Supervision.CENTRALISED_ISOLATION,
    str(PhaseKind.HOME_ISOLATION): Supervision.HOME_ISOLATION,
    str(PhaseKind.HOME_MONITORING): Supervision.HEALTH_MONITORING,
}
SUPERVISION_ORDER = (
    Supervision.CENTRALISED_ISOLATION,
    Supervision.HOME_ISOLATION,
    Supervision.HEALTH_MONITORING,
)
AREA_LEVEL = {
    str(AreaRiskLevel.HIGH): RiskLevel.HIGH,
    str(AreaRiskLevel.MEDIUM): RiskLevel.MEDIUM,
    str(AreaRiskLevel.LOW): RiskLevel.LOW,
}
RISK_ORDER = (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW, RiskLevel.NONE)


class _MemberSample(NamedTuple):
    """A NamedTuple, not a dataclass: a batch builds tens of thousands of them."""

    person_id: int
    tube_id: int
    campaign_id: int | None
    sampled_at: datetime
    pooled: bool
    lab_result: str | None
    reported_at: datetime | None


def _member_samples(
    session: Session, person_ids: Sequence[int], since: datetime
) -> list[_MemberSample]:
    """Every sample of the people since ``since``, with the latest result of its tube."""
    latest = (
        select(TubeResult.tube_id, func.max(TubeResult.reported_at).label("reported_at"))
        .join(TubeMember, TubeMember.tube_id == TubeResult.tube_id)
        .where(
            among(TubeMember.person_id, person_ids, session.get_bind().dialect),
            TubeMember.sampled_at >= since,
        )
        .group_by(TubeResult.tube_id)
        .subquery()
    )
    stmt = (
        select(
            TubeMember.person_id,
            TubeMember.tube_id,
            Tube.campaign_id,
            TubeMember.sampled_at,
            Tube.member_count,
            TubeResult.result,
            TubeResult.reported_at,
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
        .where(
            among(TubeMember.person_id, person_ids, session.get_bind().dialect),
            TubeMember.sampled_at >= since,
        )
    )
    # Unpacked by position: tens of thousands of rows, and a row's named attributes cost more.
    return [
        _MemberSample(person_id, tube_id, campaign_id, sampled_at, members > 1, result, reported)
        for person_id, tube_id, campaign_id, sampled_at, members, result, reported in (
            session.execute(stmt).tuples()
        )
    ]


def _latest_negatives(
    session: Session, person_ids: Sequence[int], before: datetime
) -> dict[int, datetime]:
    """The latest negative sample of each person taken before ``before`` (older ones)."""
    stmt = (
        select(TubeMember.person_id, func.max(TubeMember.sampled_at))
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            among(TubeMember.person_id, person_ids, session.get_bind().dialect),
            TubeMember.sampled_at < before,
            TubeResult.result == str(LabResult.NOT_DETECTED),
        )
        .group_by(TubeMember.person_id)
    )
    return {person_id: at for person_id, at in session.execute(stmt)}


def _sample_result(sample: _MemberSample) -> SampleResult:
    result = LAB_TO_SAMPLE.get(sample.lab_result or "", SampleResult.PENDING)
    # A positive pool says nothing yet about each member: they wait for a single-tube recheck.
    if result is SampleResult.POSITIVE and sample.pooled:
        return SampleResult.PENDING
    return result


def testing_facts(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> Mapping[int, TestingFacts]:
    """Samples of the last two weeks, the latest negative before that, a positive pool still
    waiting for its recheck, closed rounds the person was in scope of and never came to, and
    the key-worker tag."""
    rounds = session.execute(
        select(
            TestCampaign.id, TestCampaign.area_path, TestCampaign.starts_at, TestCampaign.ends_at
        ).where(
            TestCampaign.status == str(CampaignStatus.CLOSED),
            TestCampaign.ends_at >= now - ROUND_LOOKBACK,
            TestCampaign.ends_at <= now,
        )
    ).all()
    # Samples are read back far enough to cover every round in view, so attendance comes from
    # the same rows (no second query).
    since = min([now - SAMPLE_LOOKBACK, *(r.starts_at for r in rounds)])
    samples_of: dict[int, list[_MemberSample]] = defaultdict(list)
    for sample in _member_samples(session, person_ids, since):
        samples_of[sample.person_id].append(sample)
    attended = {
        (pid, s.campaign_id) for pid, mine in samples_of.items() for s in mine if s.campaign_id
    }
    older = _latest_negatives(session, person_ids, since)
    people = session.execute(
        select(Person.id, Person.area_path, Person.tags).where(
            among(Person.id, person_ids, session.get_bind().dialect)
        )
    ).all()
    result: dict[int, TestingFacts] = {}
    for person in people:
        mine = samples_of.get(person.id, [])
        samples = [Sample(s.sampled_at, _sample_result(s)) for s in mine]
        if person.id in older:
            samples.append(Sample(older[person.id], SampleResult.NEGATIVE))
        flagged = _pool_awaiting_review(mine)
        skipped = tuple(
            SkippedRound(f"campaign-{r.id}", r.ends_at)
            for r in rounds
            if person.area_path.startswith(r.area_path) and (person.id, r.id) not in attended
        )
        is_key = bool(person.tags & PersonTag.KEY_WORKER)
        if not samples and not skipped and flagged is None and not is_key:
            continue
        result[person.id] = TestingFacts(
            samples=tuple(sorted(samples, key=lambda s: s.sampled_at)),
            skipped_rounds=skipped,
            is_in_positive_pool_awaiting_review=flagged is not None,
            pool_flagged_at=flagged,
            is_key_post_worker=is_key,
        )
    return result


def _pool_awaiting_review(samples: Sequence[_MemberSample]) -> datetime | None:
    """When the person's latest positive pool was reported, unless a later single-tube sample
    of theirs has a result (the recheck)."""
    pools = [s for s in samples if s.pooled and s.lab_result == DETECTED]
    if not pools:
        return None
    pool = max(pools, key=lambda s: s.sampled_at)
    rechecked = any(
        not s.pooled and s.sampled_at > pool.sampled_at and s.lab_result in LAB_TO_SAMPLE
        for s in samples
    )
    return None if rechecked else pool.reported_at


CASE_OF_KIND = {
    str(CaseKind.CONFIRMED): CaseStatus.CONFIRMED,
    str(CaseKind.ASYMPTOMATIC): CaseStatus.ASYMPTOMATIC,
}
CONTACT_OF_CATEGORY = {
    str(ContactCategory.CLOSE_CONTACT): ContactKind.CLOSE,
    str(ContactCategory.SECONDARY_CONTACT): ContactKind.SECONDARY,
}
CONTACT_RANK = {ContactKind.CLOSE: 0, ContactKind.SECONDARY: 1}


def tracing_facts(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> Mapping[int, TracingFacts]:
    """Each person's latest case (a discharged case reads as recovered; a void one or a death
    says nothing) and the closest open contact classification with its latest exposure."""
    cases: dict[int, tuple[CaseStatus, datetime]] = {}
    case_rows = session.execute(
        select(Case.person_id, Case.kind, Case.status, Case.reported_at, Case.updated_at)
        .where(
            among(Case.person_id, person_ids, session.get_bind().dialect),
            Case.status.not_in([str(CaseCourse.VOID), str(CaseCourse.DIED)]),
            Case.reported_at <= now,
        )
        .order_by(Case.reported_at)
    )
    for person_id, kind, course, reported_at, updated_at in case_rows:
        if course == str(CaseCourse.DISCHARGED):
            cases[person_id] = (CaseStatus.RECOVERED, updated_at)
        else:
            cases[person_id] = (CASE_OF_KIND[kind], reported_at)
    contacts: dict[int, tuple[ContactKind, datetime]] = {}
    contact_rows = session.execute(
        select(Contact.person_id, Contact.category, Contact.last_exposure_at).where(
            among(Contact.person_id, person_ids, session.get_bind().dialect),
            Contact.status != str(ContactStatus.CLOSED),
            Contact.last_exposure_at <= now,
        )
    )
    for person_id, category, exposed_at in contact_rows:
        kind = CONTACT_OF_CATEGORY[category]
        held = contacts.get(person_id)
        # a close contact outranks a secondary one; within a class the latest exposure counts
        if (
            held is None
            or CONTACT_RANK[kind] < CONTACT_RANK[held[0]]
            or (kind is held[0] and exposed_at > held[1])
        ):
            contacts[person_id] = (kind, exposed_at)
    # spatio-temporal companion flags: the latest co-location in the cell counts
    companions: dict[int, datetime] = {
        person_id: at
        for person_id, at in session.execute(
            select(CompanionFlag.person_id, func.max(CompanionFlag.at))
            .where(
                among(CompanionFlag.person_id, person_ids, session.get_bind().dialect),
                CompanionFlag.at <= now,
            )
            .group_by(CompanionFlag.person_id)
        ).tuples()
    }
    result: dict[int, TracingFacts] = {}
    for person_id in cases.keys() | contacts.keys() | companions.keys():
        case = cases.get(person_id)
        contact = contacts.get(person_id)
        result[person_id] = TracingFacts(
            case_status=case[0] if case else CaseStatus.NONE,
            case_status_since=case[1] if case else None,
            contact=contact[0] if contact else ContactKind.NONE,
            last_exposure_at=contact[1] if contact else None,
            companion_flagged_at=companions.get(person_id),
        )
    return result


def isolation_facts(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> Mapping[int, IsolationFacts]:
    """The most restrictive active order of each person (its current phase)."""
    stmt = select(
        IsolationOrder.person_id, IsolationOrder.kind, IsolationOrder.phase_started_at
    ).where(
        among(IsolationOrder.person_id, person_ids, session.get_bind().dialect),
        IsolationOrder.status == str(OrderStatus.ACTIVE),
    )
    result: dict[int, IsolationFacts] = {}
    for person_id, kind, since in session.execute(stmt):
        supervision = SUPERVISION_OF_PHASE.get(kind)
        if supervision is None:
            continue
        held = result.get(person_id)
        if held is None or SUPERVISION_ORDER.index(supervision) < SUPERVISION_ORDER.index(
            held.supervision
        ):
            result[person_id] = IsolationFacts(supervision, since)
    return result


def confirmed_designations(*, session: Session) -> Sequence[Any]:
    """Every confirmed risk designation: what it covers (an area, a compound, a building or a
    unit), its level and since when."""
    return session.execute(
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


def area_facts(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> Mapping[int, AreaFacts]:
    """The risk level at each person's residence: the most severe confirmed designation of an
    area containing it, of its compound, its building or its building's unit (the same rule as
    ``areas.service.risk_status``, for a batch at once)."""
    designations = confirmed_designations(session=session)
    if not designations:
        return {}
    people = session.execute(
        select(
            Person.id,
            Person.area_path,
            Household.building_id,
            Household.unit,
            Building.compound_id,
        )
        .outerjoin(Household, Household.id == Person.household_id)
        .outerjoin(Building, Building.id == Household.building_id)
        .where(among(Person.id, person_ids, session.get_bind().dialect))
    ).all()
    result: dict[int, AreaFacts] = {}
    for person in people:
        best: tuple[RiskLevel, datetime] | None = None
        for d in designations:
            level = AREA_LEVEL.get(d.level)
            if level is None or not _covers(d, person):
                continue
            if best is None or RISK_ORDER.index(level) < RISK_ORDER.index(best[0]):
                best = (level, d.since)
        if best is not None:
            result[person.id] = AreaFacts(residence_risk=best[0], residence_risk_since=best[1])
    return result


def _covers(d: Row[Any], p: Row[Any]) -> bool:
    kind = d.target_kind
    if kind == str(TargetKind.AREA):
        return bool(p.area_path.startswith(d.area_path))
    if p.building_id is None:
        return False
    if kind == str(TargetKind.COMPOUND):
        return bool(d.compound_id == p.compound_id)
    if kind == str(TargetKind.BUILDING):
        return bool(d.building_id == p.building_id)
    if kind == str(TargetKind.UNIT):
        return bool(d.building_id == p.building_id and d.unit == p.unit)
    return False


@dataclass(frozen=True)
class Vaccination:
    """For display at a checkpoint only; no rule looks at it."""

    doses: int
    last_dose_on: date | None


def vaccination_of(*, session: Session, person_ids: Sequence[int]) -> dict[int, Vaccination]:
    stmt = (
        select(
            DoseRecord.person_id,
            func.count(DoseRecord.id),
            func.max(DoseRecord.administered_on),
        )
        .where(among(DoseRecord.person_id, person_ids, session.get_bind().dialect))
        .group_by(DoseRecord.person_id)
    )
    found = {pid: Vaccination(count, last) for pid, count, last in session.execute(stmt)}
    return {pid: found.get(pid, Vaccination(0, None)) for pid in person_ids}


def latest_negative_at(*, session: Session, person_id: int) -> datetime | None:
    stmt = (
        select(func.max(TubeMember.sampled_at))
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            TubeMember.person_id == person_id,
            TubeResult.result == str(LabResult.NOT_DETECTED),
        )
    )
    return session.scalar(stmt)


def changed_since(*, session: Session, since: datetime) -> set[int]:
    """People whose testing, tracing, isolation or area facts moved at or after ``since``:
    results applied to their tubes, their round status, their case, their contact
    classification, a companion flag, their isolation order, or a risk designation covering
    their home that was confirmed, changed or lifted. The feed of the event-driven recompute."""
    queries = (
        select(TubeMember.person_id)
        .join(TubeOutcome, TubeOutcome.tube_id == TubeMember.tube_id)
        .where(TubeOutcome.applied_at >= since),
        select(PersonTestStatus.person_id).where(PersonTestStatus.updated_at >= since),
        select(Case.person_id).where(Case.updated_at >= since),
        select(Contact.person_id).where(Contact.updated_at >= since),
        select(CompanionFlag.person_id).where(CompanionFlag.flagged_at >= since),
        select(IsolationOrder.person_id).where(IsolationOrder.updated_at >= since),
    )
    changed: set[int] = set()
    for query in queries:
        changed.update(session.scalars(query.distinct()))
    changed.update(_residents_of_designations_changed(session, since))
    return changed


def _residents_of_designations_changed(session: Session, since: datetime) -> set[int]:
    """Everyone living under a designation whose row moved since ``since`` (a proposal changes
    nothing for residents until it is confirmed, but re-reading them is harmless)."""
    designations = session.execute(
        select(
            RiskDesignation.target_kind,
            RiskDesignation.area_path,
            RiskDesignation.compound_id,
            RiskDesignation.building_id,
            RiskDesignation.unit,
        ).where(RiskDesignation.updated_at >= since)
    ).all()
    residents: set[int] = set()
    for d in designations:
        if d.target_kind == str(TargetKind.AREA):
            query = select(Person.id).where(Person.area_path.startswith(d.area_path))
        else:
            query = select(Person.id).join(Household, Household.id == Person.household_id)
            if d.target_kind == str(TargetKind.COMPOUND):
                query = query.join(Building, Building.id == Household.building_id).where(
                    Building.compound_id == d.compound_id
                )
            elif d.target_kind == str(TargetKind.BUILDING):
                query = query.where(Household.building_id == d.building_id)
            elif d.target_kind == str(TargetKind.UNIT):
                query = query.where(
                    Household.building_id == d.building_id, Household.unit == d.unit
                )
            else:
                continue
        residents.update(session.scalars(query))
    return residents
