"""Isolation orders: contacts to isolation, rooms, tests, the release path, and what the
platform restricts each day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.areas.enums import DesignationStatus, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError
from fangkong.core.scope import Actor
from fangkong.isolation import actions as isolation_actions
from fangkong.isolation import rules as isolation_rules
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import (
    Category,
    DestinationKind,
    FacilityStatus,
    OrderStatus,
    PhaseKind,
    ReleaseOutcome,
    SampleResult,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, IsolationOrder, IsolationTest, Room
from fangkong.isolation.schemas import IsolationSection, OrdersFromContacts, StopIn
from fangkong.testing.enums import LabResult
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing.enums import CaseStatus
from fangkong.tracing.models import Case as TracingCase

CONTACTS_PAGE = 1000


def isolate_contacts(
    *, session: Session, officer: Actor, pack_id: str, pack_version: int
) -> OrdersFromContacts:
    """The isolation officer takes every contact tracing has identified: orders under the pack
    (``isolation.actions.isolate_due_contacts``), contacts marked handed over."""
    section = isolation_service.section_for(pack_id=pack_id, version=pack_version, now=clock.now())
    total = OrdersFromContacts(created=[], already_ordered=[], refused=[])
    while True:
        result = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
        total.created.extend(result.created)
        total.already_ordered.extend(result.already_ordered)
        total.refused.extend(result.refused)
        handled = len(result.created) + len(result.already_ordered)
        if not handled or handled + len(result.refused) < CONTACTS_PAGE:
            return total


# ``propose_placements_for`` takes at most this many orders at a time (the API's limit).
PLACEMENT_BATCH = 500


def waiting_for_room(*, session: Session) -> list[int]:
    """Active centralised orders without a room (new ones and those no bed was free for)."""
    return list(
        session.scalars(
            select(IsolationOrder.id)
            .where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.kind == PhaseKind.CENTRALISED.value,
                IsolationOrder.room_id.is_(None),
            )
            .order_by(IsolationOrder.id)
        )
    )


def place_in_facilities(
    *,
    session: Session,
    officer: Actor,
    team: Actor,
    order_ids: Sequence[int],
    waiting: Sequence[int] = (),
) -> list[int]:
    """New centralised orders go to rooms: the isolation officer asks for placements
    (``isolation.service.propose_placements_for``: households together, capacity respected) and
    confirms each one with a room (``isolation.actions.assign_room``), or, for people who cannot
    be moved and their households, with home isolation and the reason
    (``isolation.actions.isolate_at_home``); the people placed in a facility go there in one
    transfer, run by the transfer team to check-in. People no bed is free for stay under their
    order unplaced; ``waiting`` (see :func:`waiting_for_room`) are tried again. Returns the
    orders placed."""
    free = session.scalar(
        select(func.count())
        .select_from(Room)
        .join(Facility, Facility.id == Room.facility_id)
        .where(Facility.status == FacilityStatus.IN_USE.value, Room.occupancy < Room.capacity)
    )
    # the day's new orders always get a proposal (who cannot be moved goes home at once); those
    # already waiting only when a bed is free
    ids = sorted(set(order_ids) | set(waiting)) if free else sorted(set(order_ids))
    if not ids:
        return []
    rows = session.execute(
        select(IsolationOrder.id, IsolationOrder.person_id, IsolationOrder.category)
        .where(
            IsolationOrder.id.in_(ids),
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.kind == PhaseKind.CENTRALISED.value,
            IsolationOrder.room_id.is_(None),
        )
        .order_by(IsolationOrder.id)
    ).all()
    order_of = {person: order_id for order_id, person, _ in rows}
    by_category: dict[str, list[int]] = {}
    for order_id, _, category in rows:
        by_category.setdefault(category, []).append(order_id)
    placed: dict[int, list[StopIn]] = {}
    for _, ids in sorted(by_category.items()):
        for start in range(0, len(ids), PLACEMENT_BATCH):
            placements = isolation_service.propose_placements_for(
                session=session, actor=officer, order_ids=ids[start : start + PLACEMENT_BATCH]
            )
            for placement in placements:
                order_id = order_of[placement.person_id]
                if placement.reason in isolation_actions.AT_HOME_REASONS:
                    isolation_actions.isolate_at_home(
                        session=session, actor=officer, order_id=order_id, reason=placement.reason
                    )
                    continue
                if placement.room_id is None or placement.facility_id is None:
                    continue  # no bed free: the order waits for the next day's placements
                savepoint = session.begin_nested()
                try:
                    isolation_actions.assign_room(
                        session=session, actor=officer, order_id=order_id, room_id=placement.room_id
                    )
                except FangkongError:
                    savepoint.rollback()  # the room filled meanwhile: the order stays unplaced
                    continue
                savepoint.commit()
                placed.setdefault(placement.facility_id, []).append(
                    StopIn(person_id=placement.person_id, order_id=order_id)
                )
    for facility_id, stops in sorted(placed.items()):
        task = isolation_service.create_transfer(
            session=session,
            actor=officer,
            kind=TransferKind.CONTACT,
            destination_kind=DestinationKind.FACILITY,
            facility_id=facility_id,
            destination_name=None,
            vehicle="drill bus",
            team="drill transfer team",
            stops=stops,
        )
        for step in (
            TransferStatus.DISPATCHED,
            TransferStatus.PICKED_UP,
            TransferStatus.CHECKED_IN,
        ):
            isolation_actions.advance_transfer(
                session=session, actor=team, transfer_id=task.id, to=step
            )
    return sorted(stop.order_id for stops in placed.values() for stop in stops if stop.order_id)


def isolation_tests_due(*, session: Session, sample_at: datetime) -> list[int]:
    """People whose active order requires a test on the phase day ``sample_at`` falls on (the
    pack's test days of the current phase) and who have none filed for it yet."""
    rows = session.execute(
        select(
            IsolationOrder.id,
            IsolationOrder.person_id,
            IsolationOrder.pack_id,
            IsolationOrder.pack_version,
            IsolationOrder.category,
            IsolationOrder.phase_index,
            IsolationOrder.phase_started_at,
        )
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.phase_started_at <= sample_at,
            IsolationOrder.planned_end_at > sample_at,
        )
        .order_by(IsolationOrder.id)
    ).all()
    if not rows:
        return []
    taken = set(
        session.execute(
            select(IsolationTest.order_id, IsolationTest.phase_index, IsolationTest.day)
            .join(IsolationOrder, IsolationOrder.id == IsolationTest.order_id)
            .where(IsolationOrder.status == OrderStatus.ACTIVE.value)
        ).tuples()
    )
    sections: dict[tuple[str, int], IsolationSection] = {}
    due: set[int] = set()
    for order_id, person, pack_id, version, category, phase_index, started in rows:
        key = (pack_id, version)
        if key not in sections:
            sections[key] = isolation_service.section_for(
                pack_id=pack_id, version=version, now=sample_at
            )
        rule = sections[key].rule_for(Category(category))
        if rule is None or phase_index >= len(rule.phases):
            continue
        day = isolation_rules.phase_day(phase_started_at=started, sampled_at=sample_at)
        if day in rule.phases[phase_index].test_days and (order_id, phase_index, day) not in taken:
            due.add(person)
    return sorted(due)


FILED_RESULTS = {
    LabResult.DETECTED.value: SampleResult.POSITIVE,
    LabResult.NOT_DETECTED.value: SampleResult.NEGATIVE,
}


def file_isolation_tests(*, session: Session, officer: Actor, since: datetime) -> int:
    """The isolation officer files, on each active order, the single-tube results stored from
    ``since`` on of samples its person gave during the order's current phase; returns how many
    tests were filed."""
    rows = session.execute(
        select(IsolationOrder.id, TubeMember.sampled_at, TubeResult.result, TubeResult.ct_values)
        .join(TubeMember, TubeMember.person_id == IsolationOrder.person_id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .join(TubeResult, TubeResult.tube_id == Tube.id)
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            Tube.pool_size == 1,
            TubeResult.stored_at >= since,
            TubeResult.result.in_(list(FILED_RESULTS)),
            TubeMember.sampled_at >= IsolationOrder.phase_started_at,
            TubeMember.sampled_at <= IsolationOrder.planned_end_at,
        )
        .order_by(IsolationOrder.id, TubeMember.sampled_at, TubeResult.id)
    ).all()
    for order_id, sampled_at, result, ct_values in rows:
        isolation_service.record_test(
            session=session,
            actor=officer,
            order_id=order_id,
            sampled_at=sampled_at,
            result=FILED_RESULTS[result],
            ct=min(ct_values.values()) if ct_values else None,
        )
    return len(rows)


@dataclass
class Releases:
    """What the release path did with the orders due today."""

    released: list[int] = field(default_factory=list)  # people set free
    next_phase: list[int] = field(default_factory=list)  # people moved to the next phase
    held: dict[str, int] = field(default_factory=dict)  # refusals by code


HELD = {IsolationErrorCode.TESTS_MISSING, IsolationErrorCode.TEST_POSITIVE}


def release_due_orders(*, session: Session, officer: Actor, since: datetime) -> Releases:
    """The isolation officer asks the release path (``isolation.actions.release``) for every
    active order whose phase ended since ``since`` (or that was made since then with its phase
    already over): it moves to the next phase, is released, or is held (a required test missing
    or positive) for the officer to deal with."""
    now = clock.now()
    due = session.execute(
        select(IsolationOrder.id, IsolationOrder.person_id)
        .where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.planned_end_at <= now,
            (IsolationOrder.planned_end_at > since) | (IsolationOrder.created_at > since),
        )
        .order_by(IsolationOrder.id)
    ).all()
    out = Releases()
    for order_id, person in due:
        try:
            _, decision = isolation_actions.release(
                session=session, actor=officer, order_id=order_id
            )
        except Conflict as error:
            if error.code not in HELD:
                raise
            out.held[str(error.code)] = out.held.get(str(error.code), 0) + 1
            continue
        if decision.outcome is ReleaseOutcome.NEXT_PHASE:
            out.next_phase.append(person)
        else:
            out.released.append(person)
    return out


@dataclass(frozen=True)
class Restrictions:
    """What the platform restricts today: people by kind of isolation, places under controls."""

    centrally: list[int]
    at_home: list[int]
    compounds: list[int]
    buildings: list[int]


LIVE_CASE = (
    CaseStatus.REPORTED.value,
    CaseStatus.TRANSFERRED.value,
    CaseStatus.IN_HOSPITAL.value,
    CaseStatus.IN_SHELTER_HOSPITAL.value,
)


def restrictions(*, session: Session) -> Restrictions:
    """People in isolation orders in force now (by the phase's kind) and live cases (taken to
    care: treatment is outside the platform); compounds and buildings under a confirmed risk
    designation."""
    now = clock.now()
    cases = session.scalars(select(TracingCase.person_id).where(TracingCase.status.in_(LIVE_CASE)))
    orders = session.execute(
        select(IsolationOrder.person_id, IsolationOrder.kind).where(
            IsolationOrder.status == OrderStatus.ACTIVE.value,
            IsolationOrder.phase_started_at <= now,
            IsolationOrder.planned_end_at > now,
        )
    ).all()
    centrally = set(cases) | {p for p, kind in orders if kind == PhaseKind.CENTRALISED.value}
    at_home = {p for p, kind in orders if kind != PhaseKind.CENTRALISED.value} - centrally
    places = session.execute(
        select(
            RiskDesignation.target_kind, RiskDesignation.compound_id, RiskDesignation.building_id
        ).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    compounds = {c for kind, c, _ in places if kind == TargetKind.COMPOUND.value and c}
    buildings = {b for kind, _, b in places if kind != TargetKind.COMPOUND.value and b}
    return Restrictions(sorted(centrally), sorted(at_home), sorted(compounds), sorted(buildings))
