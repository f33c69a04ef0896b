"""State transitions of isolation orders: assigning a room, release (next phase or free),
moving the end, ending early.

Room occupancy moves only by conditional SQL increments, and every order transition is an
UPDATE on the expected old state checked by rowcount; each writes an audit event in the same
transaction. The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.errors import Conflict, CoreErrorCode, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.db.transitions import transition as db_transition
from fangkong.isolation import events, service
from fangkong.isolation.enums import (
    Category,
    Clock,
    ContactKind,
    FacilityStatus,
    OrderStatus,
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    TransferStatus,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, IsolationOrder, Room, TransferTask
from fangkong.isolation.rules import TRANSFER_NEXT, plan_order
from fangkong.isolation.schemas import (
    ContactForIsolation,
    IsolationSection,
    OrdersFromContacts,
    RefusedContact,
    ReleaseDecision,
)
from fangkong.isolation.service import (
    check_release,
    get_facility_or_raise,
    get_order_or_raise,
    section_for,
)
from fangkong.tracing import service as tracing_service


def _transition(
    session: Session, order: IsolationOrder, *, expect: dict[str, Any], **values: Any
) -> None:
    conflict = Conflict(
        IsolationErrorCode.STATUS_CONFLICT,
        f"isolation order {order.id} changed meanwhile or is not {expect}",
    )
    db_transition(session, order, expect=expect, conflict=conflict, **values)


def _free_room(session: Session, room_id: int | None) -> None:
    if room_id is not None:
        session.execute(
            update(Room)
            .where(Room.id == room_id, Room.occupancy > 0)
            .values(occupancy=Room.occupancy - 1)
        )


def assign_room(*, session: Session, actor: Actor, order_id: int, room_id: int) -> IsolationOrder:
    """Put a person under a centralised order into a room of a facility in use."""
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound(IsolationErrorCode.ROOM_NOT_FOUND, f"no room {room_id}", field="room_id")
    facility = session.get(Facility, room.facility_id)
    assert facility is not None  # a room always belongs to a facility (foreign key)
    if not actor.covers_path(facility.area_path):
        raise PermissionDenied(
            CoreErrorCode.OUTSIDE_JURISDICTION,
            f"facility {facility.name} is outside your jurisdiction",
        )
    if order.kind != PhaseKind.CENTRALISED:
        raise Conflict(
            IsolationErrorCode.NOT_CENTRALISED, f"order {order.id} is {order.kind}, not centralised"
        )
    if order.room_id is not None:
        raise Conflict(IsolationErrorCode.ALREADY_ASSIGNED, f"order {order.id} already has a room")
    if facility.status != FacilityStatus.IN_USE:
        raise Conflict(
            IsolationErrorCode.FACILITY_NOT_IN_USE, f"{facility.name} is {facility.status}"
        )
    taken = session.execute(
        update(Room)
        .where(Room.id == room.id, Room.occupancy < Room.capacity)
        .values(occupancy=Room.occupancy + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(IsolationErrorCode.ROOM_FULL, f"room {room.label} is full", field="room_id")
    before = events.order_snapshot(order)
    _transition(
        session,
        order,
        expect={"status": OrderStatus.ACTIVE, "room_id": None},
        room_id=room.id,
        facility_id=facility.id,
    )
    events.order_changed(
        session=session, actor=actor, action="isolation.order.assigned", order=order, before=before
    )
    return order


# Why a person under a centralised rule isolates at home instead (the placement's reasons
# other than a room, the pack's own home rule or a lack of beds).
AT_HOME_REASONS = frozenset(
    {
        PlacementReason.BEDRIDDEN,
        PlacementReason.DIALYSIS,
        PlacementReason.INFANT,
        PlacementReason.ACCOMPANIES_HOUSEHOLD,
    }
)


def isolate_at_home(
    *, session: Session, actor: Actor, order_id: int, reason: PlacementReason
) -> IsolationOrder:
    """Keep a person who cannot be moved (or their household with them) in home isolation for
    the rest of the centralised phase, with the reason on the order and in the audit event."""
    if reason not in AT_HOME_REASONS:
        raise FangkongError(
            IsolationErrorCode.REASON_REQUIRED,
            f"{reason} is not a reason to isolate at home instead "
            f"({sorted(str(r) for r in AT_HOME_REASONS)})",
            field="reason",
        )
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    if order.kind != PhaseKind.CENTRALISED:
        raise Conflict(
            IsolationErrorCode.NOT_CENTRALISED, f"order {order.id} is {order.kind}, not centralised"
        )
    if order.room_id is not None:
        raise Conflict(IsolationErrorCode.ALREADY_ASSIGNED, f"order {order.id} already has a room")
    before = events.order_snapshot(order)
    note = f"at home: {reason}"
    _transition(
        session,
        order,
        expect={"status": OrderStatus.ACTIVE, "kind": PhaseKind.CENTRALISED, "room_id": None},
        kind=str(PhaseKind.HOME_ISOLATION),
        note=note if order.note is None else f"{order.note}; {note}",
    )
    events.order_changed(
        session=session,
        actor=actor,
        action="isolation.order.at_home",
        order=order,
        before=before,
        reason=str(reason),
    )
    return order


RELEASE_REFUSALS = {
    ReleaseOutcome.NOT_DUE: IsolationErrorCode.NOT_DUE,
    ReleaseOutcome.MISSING_TESTS: IsolationErrorCode.TESTS_MISSING,
    ReleaseOutcome.POSITIVE: IsolationErrorCode.TEST_POSITIVE,
}


def release(
    *, session: Session, actor: Actor, order_id: int
) -> tuple[IsolationOrder, ReleaseDecision]:
    """Move the order to its next phase or release the person; refused while the phase is not
    over, a required test is missing, or one is positive."""
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.ACTIVE:
        raise Conflict(IsolationErrorCode.STATUS_CONFLICT, f"order {order.id} is {order.status}")
    decision = check_release(session=session, order=order)
    if decision.outcome in RELEASE_REFUSALS:
        raise Conflict(RELEASE_REFUSALS[decision.outcome], decision.explanation)
    before = events.order_snapshot(order)
    expect = {"status": OrderStatus.ACTIVE, "phase_index": order.phase_index}
    room_id = order.room_id
    if decision.outcome is ReleaseOutcome.NEXT_PHASE:
        assert decision.next_phase_index is not None and decision.next_kind is not None
        section = section_for(pack_id=order.pack_id, version=order.pack_version, now=clock.now())
        rule = section.rule_for(Category(order.category))
        assert rule is not None
        duration = rule.phases[decision.next_phase_index].duration
        _transition(
            session,
            order,
            expect=expect,
            phase_index=decision.next_phase_index,
            kind=str(decision.next_kind),
            phase_started_at=order.planned_end_at,
            planned_end_at=order.planned_end_at + duration,
            room_id=None,
            facility_id=None,
        )
        action = "isolation.order.next_phase"
    else:
        _transition(session, order, expect=expect, status=str(OrderStatus.RELEASED), room_id=None)
        action = "isolation.order.released"
    _free_room(session, room_id)
    events.order_changed(
        session=session,
        actor=actor,
        action=action,
        order=order,
        before=before,
        reason=decision.explanation,
    )
    return order, decision


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise FangkongError(IsolationErrorCode.REASON_REQUIRED, "give a reason", field="reason")


def extend(
    *, session: Session, actor: Actor, order_id: int, new_end_at: datetime, reason: str
) -> IsolationOrder:
    """Move the current phase's end (later or earlier), only with a reason."""
    _require_reason(reason)
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    if new_end_at <= order.phase_started_at:
        raise FangkongError(
            IsolationErrorCode.END_BEFORE_START,
            "the new end is before the phase started",
            field="new_end_at",
        )
    before = events.order_snapshot(order)
    _transition(
        session,
        order,
        expect={"status": OrderStatus.ACTIVE, "planned_end_at": order.planned_end_at},
        planned_end_at=new_end_at,
    )
    events.order_changed(
        session=session,
        actor=actor,
        action="isolation.order.end_moved",
        order=order,
        before=before,
        reason=reason,
    )
    return order


def end_early(*, session: Session, actor: Actor, order_id: int, reason: str) -> IsolationOrder:
    """End an order before the rules would, only with a reason."""
    _require_reason(reason)
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    before = events.order_snapshot(order)
    _transition(
        session,
        order,
        expect={"status": OrderStatus.ACTIVE},
        status=str(OrderStatus.ENDED_EARLY),
        room_id=None,
    )
    _free_room(session, before["room_id"])
    events.order_changed(
        session=session,
        actor=actor,
        action="isolation.order.ended_early",
        order=order,
        before=before,
        reason=reason,
    )
    return order


def set_facility_status(
    *, session: Session, actor: Actor, facility_id: int, status: FacilityStatus
) -> Facility:
    """Put a facility in use, into cleaning (终末消毒 between groups) or in reserve. A facility
    with people in its rooms can only stay in use."""
    facility = get_facility_or_raise(session=session, actor=actor, facility_id=facility_id)
    old = facility.status
    if status != FacilityStatus.IN_USE:
        occupied = session.scalar(
            select(func.coalesce(func.sum(Room.occupancy), 0)).where(
                Room.facility_id == facility.id
            )
        )
        if occupied:
            raise Conflict(
                IsolationErrorCode.FACILITY_OCCUPIED,
                f"{occupied} people are still in {facility.name}",
                field="status",
            )
    result = session.execute(
        update(Facility)
        .where(Facility.id == facility.id, Facility.status == old)
        .values(status=str(status))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(IsolationErrorCode.STATUS_CONFLICT, f"{facility.name} changed meanwhile")
    session.refresh(facility)
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.facility.status",
        subject_type="isolation_facility",
        subject_id=facility.id,
        before={"status": old},
        after={"status": str(status)},
    )
    return facility


# --- Transfer (转运) --------------------------------------------------------------------------

TRANSFER_STAMPS = {
    TransferStatus.DISPATCHED: "dispatched_at",
    TransferStatus.PICKED_UP: "picked_up_at",
    TransferStatus.CHECKED_IN: "checked_in_at",
}


def advance_transfer(
    *, session: Session, actor: Actor, transfer_id: int, to: TransferStatus
) -> TransferTask:
    """Move a transfer one step: planned → dispatched → picked_up → checked_in. Check-in at the
    destination closes it; a second check-in is refused with its own code."""
    if not (actor.can(Permission.TRANSFER_EXECUTE) or actor.can(Permission.ISOLATION_MANAGE)):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) does not run transfers"
        )
    task = service.get_transfer_or_raise(session=session, actor=actor, transfer_id=transfer_id)
    already = Conflict(
        IsolationErrorCode.TRANSFER_ALREADY_CHECKED_IN,
        f"transfer {task.id} was already checked in at {task.destination_name}",
    )
    if task.status == TransferStatus.CHECKED_IN:
        raise already
    previous = next((k for k, v in TRANSFER_NEXT.items() if v is to), None)
    if previous is None or task.status != previous:
        raise Conflict(
            IsolationErrorCode.TRANSFER_STATUS_CONFLICT,
            f"transfer {task.id} is {task.status}: it cannot become {to}",
            field="status",
        )
    before = events.transfer_snapshot(task)
    try:
        db_transition(
            session,
            task,
            expect={"status": str(previous)},
            conflict=Conflict(
                IsolationErrorCode.TRANSFER_STATUS_CONFLICT, f"transfer {task.id} changed"
            ),
            status=str(to),
            **{TRANSFER_STAMPS[to]: clock.now()},
        )
    except Conflict:
        session.refresh(task)
        if task.status == TransferStatus.CHECKED_IN:
            raise already from None
        raise
    events.transfer_changed(
        session=session, actor=actor, action=f"isolation.transfer.{to}", task=task, before=before
    )
    return task


# --- Orders from tracing's contacts -------------------------------------------------------------

CONTACT_CATEGORIES = {
    ContactKind.CLOSE: Category.CLOSE_CONTACT,
    ContactKind.SECONDARY: Category.SECONDARY_CONTACT,
}


def create_orders_from_contacts(
    *,
    session: Session,
    actor: Actor,
    contacts: Sequence[ContactForIsolation],
    section: IsolationSection,
) -> OrdersFromContacts:
    """Turn contacts tracing hands over into isolation orders under ``section``.

    A person who already has an active order is left as they are; a bad contact (unknown
    person, outside the jurisdiction, a class the pack has no rule for, a future exposure) is
    refused with its code while the good ones are ordered. Each order's creation event names
    tracing's reference."""
    result = OrdersFromContacts(created=[], already_ordered=[], refused=[])
    for contact in contacts:
        existing = session.scalar(
            select(func.count())
            .select_from(IsolationOrder)
            .where(
                IsolationOrder.person_id == contact.person_id,
                IsolationOrder.status == str(OrderStatus.ACTIVE),
            )
        )
        if existing:
            result.already_ordered.append(contact.person_id)
            continue
        savepoint = session.begin_nested()
        try:
            order = service.create_order(
                session=session,
                actor=actor,
                person_id=contact.person_id,
                category=CONTACT_CATEGORIES[contact.kind],
                last_exposure_at=contact.last_exposure,
                section=section,
                source_ref=contact.source_ref,
            )
        except FangkongError as error:
            savepoint.rollback()
            result.refused.append(RefusedContact(contact.person_id, str(error.code), error.message))
            continue
        savepoint.commit()
        result.created.append(order.id)
    return result


CONTACT_KINDS = {"close_contact": ContactKind.CLOSE, "secondary_contact": ContactKind.SECONDARY}


def isolate_due_contacts(
    *, session: Session, actor: Actor, section: IsolationSection
) -> OrdersFromContacts:
    """Take every contact tracing has identified in ``actor``'s jurisdiction, order it under
    ``section`` and mark it handed over with its order's reference.

    A contact whose person already has an active order is handed over to that order; a refused
    contact stays identified in tracing (so it is picked up again once fixed) and is reported."""
    due = tracing_service.list_contacts_due_for_isolation(session=session, actor=actor)
    result = create_orders_from_contacts(
        session=session,
        actor=actor,
        contacts=[
            ContactForIsolation(
                person_id=contact.person_id,
                kind=CONTACT_KINDS[contact.category],
                last_exposure=contact.last_exposure_at,
                due_at=contact.due_at,
                source_ref=f"contact:{contact.id}",
            )
            for contact in due
        ],
        section=section,
    )
    active = {
        order.person_id: order
        for order in session.scalars(
            select(IsolationOrder).where(
                IsolationOrder.person_id.in_({contact.person_id for contact in due}),
                IsolationOrder.status == str(OrderStatus.ACTIVE),
            )
        )
    }
    for contact in due:
        order = active.get(contact.person_id)
        if order is None:
            continue
        if move_to_later_exposure(
            session=session,
            actor=actor,
            order=order,
            last_exposure_at=contact.last_exposure_at,
            section=section,
            source_ref=f"contact:{contact.id}",
        ):
            result.moved_to_later_exposure.append(order.id)
        tracing_service.mark_handed_over(
            session=session, actor=actor, contact_id=contact.id, isolation_ref=f"order:{order.id}"
        )
    return result


def move_to_later_exposure(
    *,
    session: Session,
    actor: Actor,
    order: IsolationOrder,
    last_exposure_at: datetime,
    section: IsolationSection,
    source_ref: str,
) -> bool:
    """A person under an order was exposed again later (a contact of a second case): where the
    pack counts the order from the last exposure (``clock: last_exposure``), the current phase
    is re-planned from the later exposure and its end moves later; never earlier, and never
    under a rule counting from the order's start. Returns whether the order moved."""
    rule = section.rule_for(Category(order.category))
    if rule is None or rule.clock is not Clock.LAST_EXPOSURE or last_exposure_at <= order.anchor_at:
        return False
    plan = plan_order(
        category=Category(order.category),
        last_exposure_at=last_exposure_at,
        now=clock.now(),
        section=section,
    )
    if plan is None or order.phase_index >= len(plan.phases):
        return False
    phase = plan.phases[order.phase_index]
    if phase.ends_at <= order.planned_end_at:
        return False
    before = events.order_snapshot(order)
    _transition(
        session,
        order,
        expect={"status": OrderStatus.ACTIVE, "planned_end_at": order.planned_end_at},
        anchor_at=plan.phases[0].starts_at,
        phase_started_at=phase.starts_at,
        planned_end_at=phase.ends_at,
    )
    events.order_changed(
        session=session,
        actor=actor,
        action="isolation.order.moved_to_later_exposure",
        order=order,
        before=before,
        reason=f"later exposure {last_exposure_at.isoformat()}; source: {source_ref}",
    )
    return True
