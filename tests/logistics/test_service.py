from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.logistics import service
from fangkong.logistics.enums import Availability, MedicalNeed, SupplyKind
from fangkong.logistics.errors import LogisticsErrorCode
from fangkong.logistics.schemas import SupplyRequestCreate, VolunteerCreate
from fangkong.registry.enums import PersonTag
from tests.authz import snapshot
from tests.city import City
from tests.personas import JIANNING, Personas
from tests.situation import give_health_code, lock_down

NOW = datetime(2022, 11, 12, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[clock.ManualClock]:
    with clock.use_clock(clock.ManualClock(NOW)) as manual:
        yield manual


def grid_worker(personas: Personas) -> Actor:
    return actor_for(personas.grid_worker())


def controlled_city(session: Session) -> City:
    """The test neighbourhood with its first grid locked down (high risk)."""
    city = City(session)
    lock_down(session, area=city.grid())
    return city


def volunteer(session: Session, personas: Personas, name: str, colour: str = "green") -> Actor:
    person = City(session).person(name=name)
    give_health_code(session, person.id, colour)
    actor = actor_for(personas.user(name, Role.VOLUNTEER, JIANNING, person_id=person.id))
    service.register_volunteer(
        session=session,
        actor=actor,
        volunteer_in=VolunteerCreate(
            name=name,
            skills=["driving"],
            availability=Availability.FULL_DAY,
            area_code=JIANNING,
        ),
    )
    return actor


def ask(
    session: Session,
    actor: Actor,
    household_id: int,
    kind: SupplyKind,
    need: MedicalNeed | None = None,
    detail: str = "米面油",
) -> int:
    request = service.request_supplies(
        session=session,
        actor=actor,
        request_in=SupplyRequestCreate(
            household_id=household_id, kind=kind, medical_need=need, detail=detail
        ),
    )
    return request.id


def test_it_puts_vulnerable_households_first_from_their_registry_tags(
    session: Session, personas: Personas
) -> None:
    city = controlled_city(session)
    worker = grid_worker(personas)
    plain, alone, dialysis = (city.household(room=r) for r in ("101", "102", "103"))
    city.person(plain)
    city.person(alone, tags=PersonTag.ELDERLY_ALONE)
    city.person(dialysis, tags=PersonTag.DIALYSIS | PersonTag.DISABLED)

    ask(session, worker, plain.id, SupplyKind.FOOD)
    ask(session, worker, alone.id, SupplyKind.FOOD)
    ask(session, worker, dialysis.id, SupplyKind.MEDICAL_CARE, MedicalNeed.DIALYSIS, "周一三五透析")

    board = service.list_requests(session=session, actor=worker)
    assert [(r.household_id, r.priority, r.priority_reasons) for r in board] == [
        (dialysis.id, 175, ["need:dialysis", "tag:dialysis", "tag:disabled"]),
        (alone.id, 30, ["tag:elderly_alone"]),
        (plain.id, 0, []),
    ]


def test_it_lets_a_resident_ask_only_for_their_own_household(
    session: Session, personas: Personas
) -> None:
    city = controlled_city(session)
    home, neighbour = city.household(room="201"), city.household(room="202")
    person = city.person(home)
    resident = actor_for(
        personas.user("resident-home", Role.RESIDENT, person_id=person.id, household_id=home.id)
    )

    ask(session, resident, home.id, SupplyKind.FORMULA, detail="婴儿奶粉 1 段")
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        ask(session, resident, neighbour.id, SupplyKind.FOOD)

    assert refused.value.code == "permission.outside_jurisdiction"
    assert snapshot(session) == before
    assert [r.household_id for r in service.list_requests(session=session, actor=resident)] == [
        home.id
    ]


def test_it_needs_to_know_which_care_is_needed(session: Session, personas: Personas) -> None:
    household = controlled_city(session).household()
    worker = grid_worker(personas)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        ask(session, worker, household.id, SupplyKind.MEDICAL_CARE)

    assert (refused.value.code, refused.value.field) == (
        LogisticsErrorCode.MEDICAL_NEED_REQUIRED,
        "medical_need",
    )
    assert snapshot(session) == before


def test_it_groups_open_requests_into_one_task_per_building(
    session: Session, personas: Personas
) -> None:
    city = controlled_city(session)
    worker = grid_worker(personas)
    grid = city.grid()
    east, west = city.building(grid, "1栋"), city.building(grid, "2栋")
    a, b, c = city.household(east, "101"), city.household(east, "102"), city.household(west, "101")
    city.person(b, tags=PersonTag.PREGNANT)
    for household in (a, b, c):
        ask(session, worker, household.id, SupplyKind.FOOD)

    tasks = service.create_tasks(session=session, actor=worker, area_code=grid.code)

    assert sorted((t.building_id, t.priority) for t in tasks) == sorted(
        [(east.id, 30), (west.id, 0)]
    )
    assert {r.status for r in service.list_requests(session=session, actor=worker)} == {"tasked"}
    with pytest.raises(FangkongError) as refused:
        service.create_tasks(session=session, actor=worker, area_code=grid.code)
    assert refused.value.code == LogisticsErrorCode.NOTHING_TO_TASK


def test_it_refuses_a_volunteer_whose_stored_code_is_not_green_or_who_has_none(
    session: Session, personas: Personas
) -> None:
    person = City(session).person(name="黄码")
    give_health_code(session, person.id, "yellow")
    yellow = actor_for(
        personas.user("yellow-volunteer", Role.VOLUNTEER, JIANNING, person_id=person.id)
    )
    unlinked = actor_for(personas.user("unlinked-volunteer", Role.VOLUNTEER, JIANNING))
    form = VolunteerCreate(name="黄码", availability=Availability.MORNINGS, area_code=JIANNING)
    before = snapshot(session)

    refusals = []
    for actor in (yellow, unlinked):
        with pytest.raises(FangkongError) as refused:
            service.register_volunteer(session=session, actor=actor, volunteer_in=form)
        refusals.append((refused.value.code, refused.value.field))
    after_refusals = snapshot(session)
    give_health_code(session, person.id, "green")
    registered = service.register_volunteer(session=session, actor=yellow, volunteer_in=form)

    assert refusals == [
        (LogisticsErrorCode.VOLUNTEER_NOT_GREEN, "health_code"),
        (LogisticsErrorCode.VOLUNTEER_NO_HEALTH_CODE, "health_code"),
    ]
    assert after_refusals == before
    assert (registered.name, registered.status) == ("黄码", "active")


def test_it_takes_requests_only_from_households_in_controlled_areas(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    worker = grid_worker(personas)
    locked = city.building(city.grid(), "1栋")
    open_building = city.building(city.grid(), "2栋")
    lock_down(session, building=locked)
    inside, outside = city.household(locked, "101"), city.household(open_building, "101")
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        ask(session, worker, outside.id, SupplyKind.FOOD)
    after_refusal = snapshot(session)
    accepted = ask(session, worker, inside.id, SupplyKind.FOOD)

    assert (refused.value.code, refused.value.field) == (
        LogisticsErrorCode.HOUSEHOLD_NOT_CONTROLLED,
        "household_id",
    )
    assert after_refusal == before
    assert [r.id for r in service.list_requests(session=session, actor=worker)] == [accepted]


def test_it_gives_a_task_to_one_volunteer_who_alone_completes_it_and_earns_the_hours(
    session: Session, personas: Personas
) -> None:
    city = controlled_city(session)
    worker = grid_worker(personas)
    grid = city.grid()
    household = city.household(city.building(grid))
    request_id = ask(session, worker, household.id, SupplyKind.FOOD)
    task = service.create_tasks(session=session, actor=worker, area_code=grid.code)[0]
    first, second = volunteer(session, personas, "vol-a"), volunteer(session, personas, "vol-b")

    assert [t.id for t in service.task_board(session=session, actor=second)] == [task.id]
    service.claim_task(session=session, actor=first, task_id=task.id)
    with pytest.raises(FangkongError) as late:
        service.claim_task(session=session, actor=second, task_id=task.id)
    with pytest.raises(FangkongError) as not_theirs:
        service.complete_task(
            session=session, actor=second, task_id=task.id, note="我也送了", minutes_worked=30
        )
    done = service.complete_task(
        session=session, actor=first, task_id=task.id, note="已送到门口", minutes_worked=45
    )
    with pytest.raises(FangkongError) as twice:
        service.complete_task(
            session=session, actor=first, task_id=task.id, note="again", minutes_worked=45
        )

    assert late.value.code == LogisticsErrorCode.TASK_ALREADY_CLAIMED
    assert not_theirs.value.code == LogisticsErrorCode.TASK_NOT_YOURS
    assert twice.value.code == LogisticsErrorCode.TASK_NOT_YOURS
    assert (done.status, done.completion_note, done.minutes_worked) == (
        "completed",
        "已送到门口",
        45,
    )
    assert service.volunteer_for(session=session, actor=first).minutes_worked == 45
    assert service.volunteer_for(session=session, actor=second).minutes_worked == 0
    assert [
        r.status for r in service.list_requests(session=session, actor=worker) if r.id == request_id
    ] == ["delivered"]
    assert service.task_board(session=session, actor=second) == []
