"""Round monitoring (docs/testing.md "Watching a round"): coverage by area down to the
building, the 应检未检 list, the completion estimate, turnaround, positive pools, and the
hand-off of people who skipped a closed round to the health-code rules.

Everything is scoped twice: to the round's area and to the actor's jurisdiction, whichever is
deeper. "Required" (:func:`required_people`) is every active resident of the area minus the
people excused from the round: those under an active centralised isolation order (sampled at
their site) and active cases in care (transferred, in hospital or in a shelter hospital).
"Sampled" is everyone bound to one of the round's tubes, live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.healthcode.facts import SkippedRound
from fangkong.isolation.enums import OrderStatus as IsolationStatus
from fangkong.isolation.enums import PhaseKind
from fangkong.isolation.models import IsolationOrder
from fangkong.registry import persons as registry_persons
from fangkong.registry import service as registry_service
from fangkong.registry.enums import PersonStatus
from fangkong.registry.models import Area, Building, Compound, Household, Person
from fangkong.testing import rules
from fangkong.testing.enums import CampaignStatus, LabResult, OrderStatus
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import (
    Alert,
    PersonTestStatus,
    ResampleOrder,
    SamplingPriority,
    TestCampaign,
    Tube,
    TubeMember,
    TubeOutcome,
    TubeResult,
)
from fangkong.tracing.enums import CaseStatus as TracingCaseStatus
from fangkong.tracing.models import Case


def ancestors(path: str) -> list[str]:
    """``/43/4302/`` → ``["/43/", "/43/4302/"]``."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]


def list_campaigns(*, session: Session, actor: Actor) -> list[TestCampaign]:
    """Rounds over the actor's jurisdiction or over an area that contains it, newest first."""
    stmt = select(TestCampaign).order_by(TestCampaign.starts_at.desc(), TestCampaign.id.desc())
    if actor.jurisdiction_path is None:
        return []
    stmt = stmt.where(
        or_(
            within_path(TestCampaign.area_path, actor.jurisdiction_path),
            TestCampaign.area_path.in_(ancestors(actor.jurisdiction_path)),
        )
    )
    return list(session.scalars(stmt))


def get_campaign(*, session: Session, actor: Actor, campaign_id: int) -> TestCampaign:
    """A round the actor may watch (it overlaps the jurisdiction), or 404."""
    campaign = session.get(TestCampaign, campaign_id)
    if campaign is None or scope_path(actor=actor, campaign=campaign) is None:
        raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "no such round", field="campaign_id")
    return campaign


def scope_path(*, actor: Actor, campaign: TestCampaign) -> str | None:
    """The deeper of the round's area and the actor's jurisdiction (None when disjoint)."""
    mine = actor.jurisdiction_path
    if mine is None:
        return None
    if mine.startswith(campaign.area_path):
        return mine
    if campaign.area_path.startswith(mine):
        return campaign.area_path
    return None


# --- Who a round requires ---------------------------------------------------------------------

CASES_IN_CARE = (
    TracingCaseStatus.TRANSFERRED.value,
    TracingCaseStatus.IN_HOSPITAL.value,
    TracingCaseStatus.IN_SHELTER_HOSPITAL.value,
)
"""Case statuses whose person is cared for elsewhere, not sampled."""


def excused() -> ColumnElement[bool]:
    """True for a ``Person`` a round does not require: under an active centralised isolation
    order, or an active case being transferred to or treated in a (shelter) hospital."""
    isolated = (
        select(IsolationOrder.id)
        .where(
            IsolationOrder.person_id == Person.id,
            IsolationOrder.status == IsolationStatus.ACTIVE.value,
            IsolationOrder.kind == PhaseKind.CENTRALISED.value,
        )
        .exists()
    )
    in_care = (
        select(Case.active_person_id)
        .where(
            Case.active_person_id == Person.id,
            Case.status.in_(CASES_IN_CARE),
        )
        .exists()
    )
    return or_(isolated, in_care)


def required_people(path: str) -> ColumnElement[bool]:
    """The condition on ``Person`` for the round's required population under ``path``:
    active residents there who are not :func:`excused`. (The rule packs have no rule yet that
    adds people to a round, so nobody is added.)"""
    return and_(within_path(Person.area_path, path), required_residents())


def required_residents() -> ColumnElement[bool]:
    """:func:`required_people` without the area condition (for one building's residents)."""
    return and_(Person.status == PersonStatus.ACTIVE.value, ~excused())


# --- Coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    label: str
    area_code: str | None  # an area row drills down to its code
    building_id: int | None  # a building row opens its 应检未检 list
    required: int
    sampled: int
    sample_first: bool = False

    @property
    def missing(self) -> int:
        return max(self.required - self.sampled, 0)

    @property
    def percent(self) -> float:
        return 100.0 * self.sampled / self.required if self.required else 100.0


@dataclass(frozen=True)
class Coverage:
    campaign: TestCampaign
    area: Area | None
    path: str
    total: CoverageRow
    rows: list[CoverageRow]
    trail: list[Area]


def _residents(path: str) -> Select[tuple[int]]:
    return select(func.count()).select_from(Person).where(required_people(path))


def _sampled(campaign_id: int, path: str) -> Select[tuple[int]]:
    return (
        select(func.count(func.distinct(TubeMember.person_id)))
        .join(Tube, Tube.id == TubeMember.tube_id)
        .join(Person, Person.id == TubeMember.person_id)
        .where(Tube.campaign_id == campaign_id, within_path(Person.area_path, path))
    )


def coverage(
    *, session: Session, actor: Actor, campaign_id: int, area_code: str | None = None
) -> Coverage:
    """Sampled / required for the round inside the actor's part of it, one row per child area
    (district → street → community → grid), or per building below the last area level."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    if area_code:
        chosen = registry_service.get_by_code_or_raise(session=session, code=area_code)
        if not chosen.path.startswith(path):
            raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "that area is not in this round")
        path = chosen.path
    area = registry_service.get_by_path(session=session, path=path)
    total = CoverageRow(
        label=area.name if area else path,
        area_code=area.code if area else None,
        building_id=None,
        required=session.scalar(_residents(path)) or 0,
        sampled=session.scalar(_sampled(campaign.id, path)) or 0,
    )
    children = list(
        session.scalars(select(Area).where(Area.parent_id == area.id).order_by(Area.code))
        if area
        else []
    )
    if children:
        rows = [
            CoverageRow(
                label=child.name,
                area_code=child.code,
                building_id=None,
                required=session.scalar(_residents(child.path)) or 0,
                sampled=session.scalar(_sampled(campaign.id, child.path)) or 0,
            )
            for child in children
        ]
    else:
        rows = _building_rows(session=session, campaign_id=campaign.id, path=path)
    trail = (
        registry_service.trail(session=session, area=area, stop_at=actor.jurisdiction_path)
        if area
        else []
    )
    return Coverage(campaign, area, path, total, rows, trail)


def _building_rows(*, session: Session, campaign_id: int, path: str) -> list[CoverageRow]:
    required = {
        building: count
        for building, count in session.execute(
            select(Household.building_id, func.count())
            .join(Person, Person.household_id == Household.id)
            .where(required_people(path))
            .group_by(Household.building_id)
        ).tuples()
    }
    sampled = {
        building: count
        for building, count in session.execute(
            select(Household.building_id, func.count(func.distinct(TubeMember.person_id)))
            .join(Person, Person.household_id == Household.id)
            .join(TubeMember, TubeMember.person_id == Person.id)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .where(Tube.campaign_id == campaign_id, within_path(Person.area_path, path))
            .group_by(Household.building_id)
        ).tuples()
    }
    first = set(
        session.scalars(
            select(SamplingPriority.building_id).where(SamplingPriority.campaign_id == campaign_id)
        )
    )
    buildings = session.execute(
        select(Building.id, Compound.name, Building.label)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Building.id.in_(list(required)))
        .order_by(Compound.name, Building.label, Building.id)
    ).tuples()
    return [
        CoverageRow(
            label=f"{compound} {label}",
            area_code=None,
            building_id=building_id,
            required=required.get(building_id, 0),
            sampled=sampled.get(building_id, 0),
            sample_first=building_id in first,
        )
        for building_id, compound, label in buildings
    ]


# --- 应检未检: who has not been sampled, per building -----------------------------------------


@dataclass(frozen=True)
class MissingPerson:
    person_id: int
    name: str
    unit: int
    floor: int
    room: str
    phone_masked: str | None
    phone: str | None  # only for roles that may see full numbers (a tel: link)
    status: str | None  # "resample" when the person must give a new sample


@dataclass(frozen=True)
class BuildingList:
    campaign: TestCampaign
    building: Building
    compound: Compound
    sample_first: bool
    people: list[MissingPerson]
    required: int
    full_numbers: bool


def not_tested(
    *, session: Session, actor: Actor, campaign_id: int, building_id: int
) -> BuildingList:
    """Residents of a building not yet sampled in the round, and those called back for a new
    sample, in door order. Phone numbers are masked unless the actor's role may see identities
    (then each listing is audited)."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    building = session.get(Building, building_id)
    if building is None or not building.area_path.startswith(campaign.area_path):
        raise NotFound(TestingErrorCode.BUILDING_NOT_IN_ROUND, "no such building in this round")
    actor.require_path(building.area_path)
    compound = session.get(Compound, building.compound_id)
    assert compound is not None
    sampled = (
        select(TubeMember.id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .where(Tube.campaign_id == campaign.id, TubeMember.person_id == Person.id)
        .exists()
    )
    stmt = (
        select(Person, Household, PersonTestStatus.status)
        .join(Household, Household.id == Person.household_id)
        .outerjoin(
            PersonTestStatus,
            and_(
                PersonTestStatus.person_id == Person.id,
                PersonTestStatus.campaign_id == campaign.id,
            ),
        )
        .where(
            Household.building_id == building.id,
            required_residents(),
            or_(~sampled, PersonTestStatus.status == "resample"),
        )
        .order_by(Household.unit, Household.floor, Household.room, Person.id)
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Person.area_path)
    full = actor.can(Permission.REGISTRY_VIEW_IDENTITY)
    people = []
    for person, household, status in session.execute(stmt).tuples():
        phone = registry_persons.decrypt_identity(person).phone if full else None
        people.append(
            MissingPerson(
                person.id,
                person.name,
                household.unit,
                household.floor,
                household.room,
                person.phone_masked,
                phone,
                status,
            )
        )
    if full and people:
        audit.record(
            session=session,
            actor=actor,
            action="testing.not_tested_listed",
            subject_type="building",
            subject_id=building.id,
            after={"campaign_id": campaign.id, "people": len(people), "full_identity": True},
        )
    required = (
        session.scalar(
            select(func.count())
            .select_from(Person)
            .join(Household, Household.id == Person.household_id)
            .where(
                Household.building_id == building.id,
                required_residents(),
            )
        )
        or 0
    )
    first = session.get(SamplingPriority, (campaign.id, building.id)) is not None
    return BuildingList(campaign, building, compound, first, people, required, full)


# --- Progress, turnaround, positive pools -----------------------------------------------------


def completion(
    *, session: Session, actor: Actor, campaign_id: int, now: datetime
) -> rules.Completion:
    """Sampled / required in the actor's part of the round, and the finish time at the rate of
    the last hour."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    last_hour = (
        session.scalar(
            _sampled(campaign.id, path).where(TubeMember.sampled_at >= now - timedelta(hours=1))
        )
        or 0
    )
    return rules.completion(
        required=session.scalar(_residents(path)) or 0,
        sampled=session.scalar(_sampled(campaign.id, path)) or 0,
        last_hour=last_hour,
        now=now,
    )


def turnaround(*, session: Session, actor: Actor, campaign_id: int) -> rules.Distribution:
    """Seconds from first sample to result over the round's tubes in the actor's part."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    values = session.scalars(
        select(TubeOutcome.turnaround_seconds).where(
            TubeOutcome.campaign_id == campaign.id, within_path(TubeOutcome.area_path, path)
        )
    ).all()
    return rules.distribution(list(values))


@dataclass(frozen=True)
class PositivePool:
    tube_id: int
    barcode: str
    area_path: str
    member_count: int
    sampled_at: datetime
    result_at: datetime
    orders_open: int
    orders_done: int


def positive_pools(*, session: Session, actor: Actor, campaign_id: int) -> list[PositivePool]:
    """The round's positive pools in the actor's part, newest first, with how many members'
    single-tube re-samples are still open."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    open_orders = (
        select(func.count())
        .where(
            ResampleOrder.tube_outcome_id == TubeOutcome.id,
            ResampleOrder.status == OrderStatus.OPEN.value,
        )
        .scalar_subquery()
    )
    done_orders = (
        select(func.count())
        .where(
            ResampleOrder.tube_outcome_id == TubeOutcome.id,
            ResampleOrder.status == OrderStatus.DONE.value,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            TubeOutcome.tube_id,
            Tube.barcode,
            TubeOutcome.area_path,
            TubeOutcome.member_count,
            TubeOutcome.sampled_at,
            TubeOutcome.result_at,
            open_orders,
            done_orders,
        )
        .join(Tube, Tube.id == TubeOutcome.tube_id)
        .where(
            TubeOutcome.campaign_id == campaign.id,
            TubeOutcome.result == LabResult.DETECTED.value,
            TubeOutcome.member_count > 1,
            within_path(TubeOutcome.area_path, path),
        )
        .order_by(TubeOutcome.result_at.desc(), TubeOutcome.id.desc())
    ).tuples()
    return [PositivePool(*row) for row in rows]


def status_counts(*, session: Session, actor: Actor, campaign_id: int) -> dict[str, int]:
    """People per status (negative, pending_review, …) in the actor's part of the round."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    rows = session.execute(
        select(PersonTestStatus.status, func.count())
        .join(Person, Person.id == PersonTestStatus.person_id)
        .where(PersonTestStatus.campaign_id == campaign.id, within_path(Person.area_path, path))
        .group_by(PersonTestStatus.status)
    ).tuples()
    return {status: count for status, count in rows}


# --- Hand-off to health codes -----------------------------------------------------------------


def list_skipped(*, session: Session, campaign_id: int) -> list[tuple[int, SkippedRound]]:
    """Residents required by a closed round who were never sampled in it, as
    ``(person_id, SkippedRound)`` for the health-code rules (``round_id`` is
    ``testing:<campaign id>``, ``closed_at`` when the round was closed). Refuses an open round:
    nobody has skipped it yet."""
    campaign = session.get(TestCampaign, campaign_id)
    if campaign is None:
        raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "no such round", field="campaign_id")
    if campaign.status != CampaignStatus.CLOSED.value:
        raise Conflict(TestingErrorCode.CAMPAIGN_NOT_CLOSED, "the round is still open")
    closed_at = campaign.closed_at or campaign.ends_at
    sampled = (
        select(TubeMember.id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .where(Tube.campaign_id == campaign.id, TubeMember.person_id == Person.id)
        .exists()
    )
    people = session.scalars(
        select(Person.id).where(required_people(campaign.area_path), ~sampled).order_by(Person.id)
    )
    round_id = f"testing:{campaign.id}"
    return [
        (person_id, SkippedRound(round_id=round_id, closed_at=closed_at)) for person_id in people
    ]


# --- Alerts and re-sample orders --------------------------------------------------------------


def list_alerts(*, session: Session, actor: Actor, open_only: bool = False) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if open_only:
        stmt = stmt.where(Alert.status == "open")
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Alert.area_path)
    return list(session.scalars(stmt.limit(500)))


def list_orders(
    *, session: Session, actor: Actor, open_only: bool = True
) -> list[tuple[ResampleOrder, Person]]:
    stmt = (
        select(ResampleOrder, Person)
        .join(Person, Person.id == ResampleOrder.person_id)
        .order_by(ResampleOrder.created_at.desc(), ResampleOrder.id)
    )
    if open_only:
        stmt = stmt.where(ResampleOrder.status == OrderStatus.OPEN.value)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=ResampleOrder.area_path)
    return list(session.execute(stmt.limit(500)).tuples())


# --- Staggered schedule (分楼栋分楼层错峰) ----------------------------------------------------


def floor_groups(
    *, session: Session, actor: Actor, campaign_id: int, area_code: str
) -> tuple[Area, list[rules.FloorGroup]]:
    """The round's residents of an area by building and floor, in walking order (compound,
    building, floor from the top down so that stairs are walked down)."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    area = registry_service.get_by_code_or_raise(session=session, code=area_code)
    path = scope_path(actor=actor, campaign=campaign)
    if path is None or not area.path.startswith(path):
        raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "that area is not in this round")
    rows = session.execute(
        select(Building.id, Compound.name, Building.label, Household.floor, func.count())
        .join(Household, Household.building_id == Building.id)
        .join(Compound, Compound.id == Building.compound_id)
        .join(Person, Person.household_id == Household.id)
        .where(required_people(area.path))
        .group_by(Building.id, Compound.name, Building.label, Household.floor)
        .order_by(Compound.name, Building.label, Building.id, Household.floor.desc())
    ).tuples()
    groups = [
        rules.FloorGroup(building, f"{compound} {label}", floor, people)
        for building, compound, label, floor, people in rows
    ]
    return area, groups


def upload_effects(*, session: Session, upload_id: int) -> dict[str, int]:
    """What an uploaded file's results did: tubes per effect (negative, pending_review for a
    positive pool, positive, resample), for the upload report."""
    pooled = TubeOutcome.member_count > 1
    counts: dict[str, int] = {}
    rows = session.execute(
        select(TubeOutcome.result, pooled, func.count())
        .join(TubeResult, TubeResult.id == TubeOutcome.lab_result_id)
        .where(TubeResult.upload_id == upload_id)
        .group_by(TubeOutcome.result, pooled)
    ).tuples()
    for result, is_pool, count in rows:
        state = rules.tube_state(result=LabResult(result), member_count=2 if is_pool else 1)
        counts[state.value] = counts.get(state.value, 0) + count
    return counts
