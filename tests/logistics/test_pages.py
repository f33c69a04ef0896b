"""The supply and task-board pages through the TestClient."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.logistics.models import DeliveryTask, SupplyRequest
from fangkong.registry.enums import PersonTag
from tests.city import CREATED, City
from tests.personas import JIANNING, Personas, login
from tests.situation import give_health_code, lock_down


def as_user(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def test_it_takes_requests_from_locked_down_households_and_groups_them_by_building(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    grid = city.grid()
    locked, open_building = city.building(grid, "1栋"), city.building(grid, "2栋")
    lock_down(session, building=locked)
    home, neighbour = city.household(locked, "101"), city.household(locked, "102")
    outside = city.household(open_building, "101")
    person = city.person(home, tags=PersonTag.ELDERLY_ALONE)
    city.person(neighbour)
    personas.user("resident-101", Role.RESIDENT, person_id=person.id, household_id=home.id)
    personas.user(
        "resident-out", Role.RESIDENT, person_id=city.person(outside).id, household_id=outside.id
    )
    personas.grid_worker()

    csrf = as_user(client, "resident-101")
    form_page = client.get("/logistics/requests")
    made = client.post(
        "/logistics/requests",
        data={"csrf_token": csrf, "household_id": home.id, "kind": "food", "detail": "米面油"},
        follow_redirects=False,
    )
    csrf = as_user(client, "resident-out")
    refused = client.post(
        "/logistics/requests",
        data={"csrf_token": csrf, "household_id": outside.id, "kind": "food"},
    )
    csrf = as_user(client, "jianning-grid")
    client.post(
        "/logistics/requests",
        data={
            "csrf_token": csrf,
            "household_id": neighbour.id,
            "kind": "medical_care",
            "medical_need": "dialysis",
            "detail": "周一三五透析",
        },
        follow_redirects=False,
    )
    listed = client.get("/logistics/requests")
    tasked = client.post(
        "/logistics/tasks",
        data={"csrf_token": csrf, "area_code": grid.code},
        follow_redirects=False,
    )

    assert f'name="household_id" value="{home.id}"' in form_page.text
    assert made.status_code == 303
    assert refused.status_code == 400
    assert 'data-code="logistics.household_not_in_controlled_area"' in refused.text
    assert listed.text.count(f'data-building="{locked.id}"') == 1
    priorities = re.findall(r'data-priority="(\d+)"', listed.text)
    assert priorities == ["100", "30"]  # dialysis first, then the elderly person living alone
    assert "独居老人" in listed.text
    assert tasked.headers["location"] == "/logistics/requests?tasked=1"
    fresh = select(SupplyRequest).execution_options(populate_existing=True)
    assert {r.status for r in session.scalars(fresh)} == {"tasked"}


def test_it_lets_a_green_volunteer_register_claim_and_complete_and_tells_the_late_one(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    grid = city.grid()
    lock_down(session, area=grid)
    building = city.building(grid)
    volunteers = []
    for name in ("vol-li", "vol-zhou"):
        person = city.person(name=name)
        give_health_code(session, person.id, "green")
        volunteers.append(personas.user(name, Role.VOLUNTEER, JIANNING, person_id=person.id))
    session.add(
        task := DeliveryTask(
            building_id=building.id,
            area_path=building.area_path,
            status="open",
            priority=0,
            created_at=CREATED,
        )
    )
    session.flush()

    def register_and_open_board(username: str) -> tuple[str, str]:
        csrf = as_user(client, username)
        registration = client.get("/logistics/board")
        assert 'action="/logistics/volunteers"' in registration.text
        client.post(
            "/logistics/volunteers",
            data={
                "csrf_token": csrf,
                "name": username,
                "skills": "驾驶",
                "availability": "full_day",
                "area_code": JIANNING,
            },
            follow_redirects=False,
        )
        return csrf, client.get("/logistics/board").text

    _, late_board = register_and_open_board("vol-zhou")
    csrf, board = register_and_open_board("vol-li")
    hx = {"HX-Request": "true"}
    claimed = client.post(
        f"/logistics/tasks/{task.id}/claim", data={"csrf_token": csrf}, headers=hx
    )
    completed = client.post(
        f"/logistics/tasks/{task.id}/complete",
        data={"csrf_token": csrf, "note": "放在门口", "minutes_worked": 90},
        headers=hx,
    )
    late_csrf = as_user(client, "vol-zhou")
    late = client.post(
        f"/logistics/tasks/{task.id}/claim", data={"csrf_token": late_csrf}, headers=hx
    )

    assert f'data-task="{task.id}"' in late_board and f'data-task="{task.id}"' in board
    assert 'data-count="mine">1<' in claimed.text and "<html" not in claimed.text
    assert 'data-count="hours">1.5<' in completed.text and 'data-count="mine">0<' in completed.text
    assert 'data-code="logistics.task_already_claimed"' in late.text
    session.refresh(task)
    assert (task.status, task.completion_note, task.minutes_worked) == ("completed", "放在门口", 90)
