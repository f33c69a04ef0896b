"""Isolation pages through the real forms: facilities and capacity, placements confirmed in
bulk, an order's schedule and a refused release, the transfer board, home check-ins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.isolation import service
from fangkong.isolation.enums import Category
from fangkong.isolation.models import Facility, IsolationOrder, Room, TransferTask
from tests import places
from tests.authz import snapshot
from tests.personas import LUSONG, Personas, login

EXPOSED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)
NOW = EXPOSED + timedelta(hours=20)


def form(client: TestClient, csrf: str, url: str, **data: object) -> str:
    response = client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def orders_for_a_household(session: Session, personas: Personas) -> list[IsolationOrder]:
    actor = actor_for(personas.user("iso-mgr", Role.ISOLATION_MANAGER, LUSONG))
    compound = places.compound(session, "芦淞花园")
    home = places.household(session, places.building(session, compound, "1栋"))
    section = service.section_for(pack_id="cn-9", version=None, now=NOW)
    return [
        service.create_order(
            session=session,
            actor=actor,
            person_id=places.person(session, name, at=home).id,
            category=Category.CLOSE_CONTACT,
            last_exposure_at=EXPOSED,
            section=section,
        )
        for name in ("张三", "张小三")
    ]


def test_it_fills_a_facility_by_confirming_placements_in_bulk(
    client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(NOW)):
        orders = orders_for_a_household(session, personas)
        csrf = login(client, "iso-mgr")
        facility_url = form(
            client,
            csrf,
            "/isolation/facilities",
            name="芦淞宾馆",
            area_code=LUSONG,
            status="in_use",
        )
        form(client, csrf, f"{facility_url}/rooms", label="201", capacity=2)
        listed = client.get("/isolation/orders?status=active&unassigned=true")
        proposals = client.post(
            "/isolation/placements",
            data={"csrf_token": csrf, "order_ids": [o.id for o in orders]},
        )
        pairs = re.findall(r'name="assignments" value="([0-9]+:[0-9]+)"', proposals.text)
        done = client.post(
            "/isolation/placements/confirm", data={"csrf_token": csrf, "assignments": pairs}
        )
        capacity = client.get("/isolation")
        facility_page = client.get(facility_url)

    room = session.scalars(select(Room)).one()
    assert listed.status_code == 200 and all(f'data-order="{o.id}"' in listed.text for o in orders)
    assert sorted(pairs) == sorted(f"{o.id}:{room.id}" for o in orders)
    assert '<span data-count="done">2</span>' in done.text
    session.refresh(room)
    assert room.occupancy == 2
    facility = session.scalars(select(Facility)).one()
    assert (
        f'<tr data-facility="{facility.id}"><td><a href="/isolation/facilities/{facility.id}">'
        "芦淞宾馆</a></td><td>使用中</td><td>2</td><td>2</td><td>0</td><td>0</td><td>0</td></tr>"
    ) in capacity.text
    assert "张小三" in facility_page.text and "2/2" in facility_page.text


def test_it_shows_the_schedule_and_refuses_an_early_release_changing_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(NOW)):
        order = orders_for_a_household(session, personas)[0]
        csrf = login(client, "iso-mgr")
        form(
            client,
            csrf,
            f"/isolation/orders/{order.id}/tests",
            sampled_at="2022-07-01T12:00",
            result="negative",
        )
        page = client.get(f"/isolation/orders/{order.id}")
        before = snapshot(session)
        refused = client.post(
            f"/isolation/orders/{order.id}/release",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        no_reason = client.post(
            f"/isolation/orders/{order.id}/end",
            data={"csrf_token": csrf, "reason": " "},
            follow_redirects=False,
        )

    assert page.status_code == 200
    schedule = re.findall(
        r'data-day="(\d-\d)">[^<]*<span class="([a-z]+)">([^<]+)</span>', page.text
    )
    assert schedule == [
        ("0-1", "badge", "阴性"),
        ("0-2", "muted", "待检"),
        ("0-3", "muted", "待检"),
        ("0-5", "muted", "待检"),
        ("0-7", "muted", "待检"),
    ]
    assert 'data-outcome="not_due"' in page.text
    assert (refused.status_code, 'data-code="isolation.not_due"' in refused.text) == (409, True)
    assert (no_reason.status_code, 'data-code="isolation.reason_required"' in no_reason.text) == (
        400,
        True,
    )
    assert snapshot(session) == before


def test_it_runs_the_transfer_board_and_refuses_a_second_check_in(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.user("iso-mgr", Role.ISOLATION_MANAGER, LUSONG)
    personas.user("driver", Role.TRANSFER_TEAM, LUSONG)
    compound = places.compound(session, "芦淞花园")
    person = places.person(
        session, "张三", at=places.household(session, places.building(session, compound, "1栋"))
    )
    manual = clock.ManualClock(NOW)
    with clock.use_clock(manual):
        csrf = login(client, "iso-mgr")
        form(
            client,
            csrf,
            "/isolation/transfers",
            kind="positive",
            destination_kind="shelter_hospital",
            destination_name="株洲方舱",
            vehicle="湘B·120",
            team="一组",
            person_ids=str(person.id),
        )
        manual.advance(timedelta(hours=7))
        board = client.get("/isolation/transfers")
        facilities = client.get("/isolation")
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "driver")
        task = session.scalars(select(TransferTask)).one()
        for step in ("dispatched", "picked_up", "checked_in"):
            form(client, csrf, f"/isolation/transfers/{task.id}/{step}")
        before = snapshot(session)
        again = client.post(
            f"/isolation/transfers/{task.id}/checked_in",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )

    assert '<span class="badge" data-overdue>已超时 1 h 0 min</span>' in board.text
    assert "芦淞花园1栋1单元302" in board.text
    assert '<a href="/isolation/transfers" data-count="overdue-transfers">1</a>' in facilities.text
    assert again.status_code == 409
    assert 'data-code="isolation.transfer_already_checked_in"' in again.text
    assert snapshot(session) == before


def test_it_takes_the_residents_check_in_and_lists_the_missed_ones(
    client: TestClient, session: Session, personas: Personas
) -> None:
    manager = actor_for(personas.user("iso-mgr", Role.ISOLATION_MANAGER, LUSONG))
    compound = places.compound(session, "芦淞花园")
    building = places.building(session, compound, "1栋")
    zhang = places.person(session, "张三", at=places.household(session, building, "101"))
    li = places.person(session, "李四", at=places.household(session, building, "102"))
    section = service.section_for(pack_id="cn-9", version=None, now=NOW)
    with clock.use_clock(clock.ManualClock(NOW)):
        orders = [
            service.create_order(
                session=session,
                actor=manager,
                person_id=p.id,
                category=Category.SECONDARY_CONTACT,
                last_exposure_at=EXPOSED,
                section=section,
            )
            for p in (zhang, li)
        ]
        personas.user("zhang", Role.RESIDENT, person_id=zhang.id, household_id=zhang.household_id)
        personas.grid_worker()
        csrf = login(client, "zhang")
        page = client.get("/isolation/checkin")
        saved = form(
            client,
            csrf,
            "/isolation/checkin",
            order_id=orders[0].id,
            temperature="37.6",
            symptoms=["cough"],
        )
        done = client.get(saved)
        client.post("/logout", data={"csrf_token": csrf})
        login(client, "jianning-grid")
        missed = client.get("/isolation/checkins")

    assert f'data-order="{orders[0].id}"' in page.text and "李四" not in page.text
    assert "今日已打卡" in done.text and "打卡已保存" in done.text
    assert '<span data-count="missed">1</span>' in missed.text
    assert f'data-order="{orders[1].id}"' in missed.text
    assert '张三</a> · 37.6 °C <span class="badge">咳嗽</span>' in missed.text
