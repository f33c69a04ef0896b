"""Transfers (转运): planning with a deadline, the steps to check-in, overdue detection, and the
refusals (checked in twice, wrong destination, facility outside the jurisdiction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import audit, clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.isolation import actions, jobs, service
from fangkong.isolation.enums import (
    DestinationKind,
    FacilityStatus,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import TransferTask
from fangkong.isolation.schemas import StopIn
from fangkong.registry.models import Person
from tests import places
from tests.authz import snapshot
from tests.personas import HETANG, LUSONG, Personas

PLANNED = datetime(2022, 11, 12, 1, 0, tzinfo=UTC)


def manager(personas: Personas, area_code: str = LUSONG) -> Actor:
    return actor_for(personas.user(f"iso-{area_code}", Role.ISOLATION_MANAGER, area_code))


def driver(personas: Personas) -> Actor:
    return actor_for(personas.user("transfer-lusong", Role.TRANSFER_TEAM, LUSONG))


def resident(session: Session, name: str) -> Person:
    compound = places.compound(session, f"{name}小区")
    home = places.household(session, places.building(session, compound, "2栋"), room="501")
    return places.person(session, name, at=home)


def to_hospital(session: Session, actor: Actor, *people: Person) -> TransferTask:
    return service.create_transfer(
        session=session,
        actor=actor,
        kind=TransferKind.POSITIVE,
        destination_kind=DestinationKind.SHELTER_HOSPITAL,
        facility_id=None,
        destination_name="株洲方舱医院",
        vehicle="湘B·12345",
        team="芦淞转运一组",
        stops=[StopIn(person_id=p.id) for p in people],
    )


def test_it_runs_a_transfer_of_positives_to_check_in(session: Session, personas: Personas) -> None:
    actor, team = manager(personas), driver(personas)
    manual = clock.ManualClock(PLANNED)
    with clock.use_clock(manual):
        zhang, li = resident(session, "张三"), resident(session, "李四")
        task = to_hospital(session, actor, zhang, li)
        stops = service.list_stops(session=session, task_id=task.id)
        for step in (TransferStatus.DISPATCHED, TransferStatus.PICKED_UP):
            manual.advance(timedelta(hours=1))
            actions.advance_transfer(session=session, actor=team, transfer_id=task.id, to=step)
        manual.advance(timedelta(hours=1))
        actions.advance_transfer(
            session=session, actor=team, transfer_id=task.id, to=TransferStatus.CHECKED_IN
        )

    assert (task.status, task.deadline_at, task.deadline_rule) == (
        "checked_in",
        PLANNED + timedelta(hours=6),
        "setting:transfer_positive_hours=6",
    )
    assert (task.dispatched_at, task.picked_up_at, task.checked_in_at) == (
        PLANNED + timedelta(hours=1),
        PLANNED + timedelta(hours=2),
        PLANNED + timedelta(hours=3),
    )
    assert [(s.person_id, s.address) for s in stops] == [
        (zhang.id, "张三小区2栋1单元501"),
        (li.id, "李四小区2栋1单元501"),
    ]
    assert task.area_path == "/43/4302/430203/430203003/"
    events = audit.events_for(session=session, subject_type="transfer_task", subject_id=task.id)
    assert [(e.action, e.rule_ref) for e in events] == [
        ("isolation.transfer.created", "setting:transfer_positive_hours=6"),
        ("isolation.transfer.dispatched", "setting:transfer_positive_hours=6"),
        ("isolation.transfer.picked_up", "setting:transfer_positive_hours=6"),
        ("isolation.transfer.checked_in", "setting:transfer_positive_hours=6"),
    ]
    assert events[0].after is not None and events[0].after["people"] == [zhang.id, li.id]


def test_it_refuses_a_transfer_checked_in_twice(session: Session, personas: Personas) -> None:
    actor, team = manager(personas), driver(personas)
    with clock.use_clock(clock.ManualClock(PLANNED)):
        task = to_hospital(session, actor, resident(session, "张三"))
        for step in (
            TransferStatus.DISPATCHED,
            TransferStatus.PICKED_UP,
            TransferStatus.CHECKED_IN,
        ):
            actions.advance_transfer(session=session, actor=team, transfer_id=task.id, to=step)
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.advance_transfer(
                session=session, actor=team, transfer_id=task.id, to=TransferStatus.CHECKED_IN
            )

    assert refused.value.code == IsolationErrorCode.TRANSFER_ALREADY_CHECKED_IN
    assert snapshot(session) == before


def test_it_refuses_skipping_a_step(session: Session, personas: Personas) -> None:
    actor, team = manager(personas), driver(personas)
    with clock.use_clock(clock.ManualClock(PLANNED)):
        task = to_hospital(session, actor, resident(session, "张三"))
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.advance_transfer(
                session=session, actor=team, transfer_id=task.id, to=TransferStatus.CHECKED_IN
            )

    assert refused.value.code == IsolationErrorCode.TRANSFER_STATUS_CONFLICT
    assert snapshot(session) == before


def test_it_refuses_positives_to_an_isolation_facility(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(PLANNED)):
        person = resident(session, "张三")
        before = snapshot(session)
        with pytest.raises(FangkongError) as refused:
            service.create_transfer(
                session=session,
                actor=actor,
                kind=TransferKind.POSITIVE,
                destination_kind=DestinationKind.FACILITY,
                facility_id=None,
                destination_name=None,
                vehicle="湘B·1",
                team="一组",
                stops=[StopIn(person_id=person.id)],
            )

    assert refused.value.code == IsolationErrorCode.TRANSFER_DESTINATION_INVALID
    assert snapshot(session) == before


def test_it_refuses_contacts_to_a_facility_outside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    lusong, hetang = manager(personas), manager(personas, HETANG)
    with clock.use_clock(clock.ManualClock(PLANNED)):
        facility = service.create_facility(
            session=session,
            actor=hetang,
            name="荷塘隔离点",
            area_code=HETANG,
            status=FacilityStatus.IN_USE,
        )
        person = resident(session, "张三")
        before = snapshot(session)
        with pytest.raises(FangkongError) as refused:
            service.create_transfer(
                session=session,
                actor=lusong,
                kind=TransferKind.CONTACT,
                destination_kind=DestinationKind.FACILITY,
                facility_id=facility.id,
                destination_name=None,
                vehicle="湘B·1",
                team="一组",
                stops=[StopIn(person_id=person.id)],
            )

    assert refused.value.code == CoreErrorCode.OUTSIDE_JURISDICTION
    assert snapshot(session) == before


def test_it_lists_and_escalates_overdue_transfers_once(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    manual = clock.ManualClock(PLANNED)
    with clock.use_clock(manual):
        facility = service.create_facility(
            session=session,
            actor=actor,
            name="芦淞隔离点",
            area_code=LUSONG,
            status=FacilityStatus.IN_USE,
        )
        positives = to_hospital(session, actor, resident(session, "张三"))
        contacts = service.create_transfer(
            session=session,
            actor=actor,
            kind=TransferKind.CONTACT,
            destination_kind=DestinationKind.FACILITY,
            facility_id=facility.id,
            destination_name=None,
            vehicle="湘B·2",
            team="二组",
            stops=[StopIn(person_id=resident(session, "李四").id, address="建宁路1号")],
        )
        manual.set(PLANNED + timedelta(hours=7))
        overdue_at_7h = [t.id for t in service.list_overdue(session=session, actor=actor)]
        board = [t.id for t in service.list_transfers(session=session, actor=actor)]
        first_run = jobs.escalate_overdue_transfers(session=session)
        second_run = jobs.escalate_overdue_transfers(session=session)
        manual.set(PLANNED + timedelta(hours=13))
        overdue_at_13h = [t.id for t in service.list_overdue(session=session, actor=actor)]

    assert (contacts.deadline_at, contacts.deadline_rule) == (
        PLANNED + timedelta(hours=12),
        "setting:transfer_contact_hours=12",
    )
    assert (overdue_at_7h, board) == ([positives.id], [positives.id, contacts.id])
    assert (first_run, second_run) == ([positives.id], [])
    assert overdue_at_13h == [positives.id, contacts.id]
    events = audit.events_for(
        session=session, subject_type="transfer_task", subject_id=positives.id
    )
    assert (events[-1].action, events[-1].reason) == (
        "isolation.transfer.overdue",
        "overdue by 1 h 0 min",
    )


def test_it_answers_a_second_check_in_over_http_with_its_code(
    client: TestClient, session: Session, personas: Personas
) -> None:
    person = resident(session, "张三")
    headers = personas.bearer(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    team = personas.bearer(personas.user("transfer-lusong", Role.TRANSFER_TEAM, LUSONG))
    created = client.post(
        "/api/v1/isolation/transfers",
        headers=headers,
        json={
            "kind": "positive",
            "destination_kind": "hospital",
            "destination_name": "株洲市中心医院",
            "vehicle": "湘B·120",
            "team": "急救一组",
            "stops": [{"person_id": person.id}],
        },
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    for step in ("dispatched", "picked_up", "checked_in"):
        moved = client.post(f"/api/v1/isolation/transfers/{task_id}/{step}", headers=team)
        assert (moved.status_code, moved.json()["status"]) == (200, step)

    again = client.post(f"/api/v1/isolation/transfers/{task_id}/checked_in", headers=team)

    assert (again.status_code, again.json()["code"]) == (
        409,
        IsolationErrorCode.TRANSFER_ALREADY_CHECKED_IN,
    )
    assert created.json()["stops"] == [
        {"person_id": person.id, "order_id": None, "address": "张三小区2栋1单元501"}
    ]
