"""The authorization matrices of the transfer, contact, capacity and check-in endpoints:
anonymous, a resident, roles without the permission, someone of another district, then the
allowed call; every refusal changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.errors import CoreErrorCode
from fangkong.isolation import service
from fangkong.isolation.enums import Category, DestinationKind, TransferKind
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.schemas import StopIn
from tests import places
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas

EXPOSED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    person_id: int
    order_id: int
    transfer_id: int


def build(session: Session, personas: Personas) -> World:
    actor = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    home = places.household(
        session, places.building(session, places.compound(session, "芦淞花园"), "1栋")
    )
    person = places.person(session, "张三", at=home)
    order = service.create_order(
        session=session,
        actor=actor,
        person_id=person.id,
        category=Category.SECONDARY_CONTACT,  # cn-9: 7 days of home isolation
        last_exposure_at=EXPOSED,
        section=service.section_for(pack_id="cn-9", version=None, now=EXPOSED),
    )
    task = service.create_transfer(
        session=session,
        actor=actor,
        kind=TransferKind.POSITIVE,
        destination_kind=DestinationKind.HOSPITAL,
        facility_id=None,
        destination_name="株洲市中心医院",
        vehicle="湘B·120",
        team="一组",
        stops=[StopIn(person_id=person.id)],
    )
    session.flush()
    return World(person.id, order.id, task.id)


def manager(personas: Personas, area_code: str = LUSONG) -> dict[str, str]:
    return personas.bearer(personas.user(f"iso-{area_code}", Role.ISOLATION_MANAGER, area_code))


def anonymous_and_resident(personas: Personas) -> list[Refusal]:
    return [
        Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        Refusal(
            "resident", personas.bearer(personas.resident()), 403, CoreErrorCode.PERMISSION_DENIED
        ),
    ]


def test_it_lets_only_managers_plan_a_transfer(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/isolation/transfers",
        json={
            "kind": "positive",
            "destination_kind": "shelter_hospital",
            "destination_name": "方舱",
            "vehicle": "湘B·1",
            "team": "二组",
            "stops": [{"person_id": world.person_id}],
        },
        refusals=[
            *anonymous_and_resident(personas),
            Refusal(
                "transfer team (runs, does not plan)",
                personas.bearer(personas.user("driver", Role.TRANSFER_TEAM, LUSONG)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "manager of another district",
                manager(personas, HETANG),
                403,
                CoreErrorCode.OUTSIDE_JURISDICTION,
            ),
        ],
        allowed_headers=manager(personas),
        allowed_status=201,
    )


def test_it_lets_the_transfer_team_of_the_district_move_a_transfer(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/isolation/transfers/{world.transfer_id}/dispatched",
        refusals=[
            *anonymous_and_resident(personas),
            Refusal(
                "grid worker (may view only)",
                personas.bearer(personas.grid_worker()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "transfer team of another district",
                personas.bearer(personas.user("driver-ht", Role.TRANSFER_TEAM, HETANG)),
                404,
                IsolationErrorCode.TRANSFER_NOT_FOUND,
            ),
        ],
        allowed_headers=personas.bearer(personas.user("driver", Role.TRANSFER_TEAM, LUSONG)),
        allowed_status=200,
    )


def test_it_lets_only_managers_turn_contacts_into_orders(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/isolation/orders/from-contacts?pack_id=cn-9",
        json={
            "contacts": [
                {
                    "person_id": world.person_id,
                    "kind": "close",
                    "last_exposure": EXPOSED.isoformat(),
                    "due_at": EXPOSED.isoformat(),
                    "source_ref": "contact:1",
                }
            ]
        },
        refusals=[
            *anonymous_and_resident(personas),
            Refusal(
                "grid worker (may view only)",
                personas.bearer(personas.grid_worker()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
        ],
        allowed_headers=manager(personas),
        allowed_status=200,
        check_allowed=lambda body: assert_equal(
            body,
            {
                "created": [],
                "already_ordered": [world.person_id],
                "refused": [],
                "moved_to_later_exposure": [],
            },
        ),
    )


def assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def test_it_takes_check_ins_only_for_orders_the_caller_may_see(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    other = places.person(session, "李四", area_path="/43/4302/430203/430203003/")
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/isolation/orders/{world.order_id}/checkins",
        json={"temperature": 36.6, "symptoms": []},
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "sampler (no check-in role)",
                personas.bearer(personas.user("sampler", Role.SAMPLER, LUSONG)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "another resident",
                personas.bearer(
                    personas.user("res-other", Role.RESIDENT, person_id=other.id, household_id=0)
                ),
                404,
                IsolationErrorCode.ORDER_NOT_FOUND,
            ),
            Refusal(
                "manager of another district",
                manager(personas, HETANG),
                404,
                IsolationErrorCode.ORDER_NOT_FOUND,
            ),
        ],
        allowed_headers=personas.bearer(personas.grid_worker()),
        allowed_status=201,
    )


LISTS: dict[str, Callable[[World], str]] = {
    "transfers": lambda w: "/api/v1/isolation/transfers",
    "overdue transfers": lambda w: "/api/v1/isolation/transfers/overdue",
    "capacity": lambda w: "/api/v1/isolation/capacity",
    "missed check-ins": lambda w: "/api/v1/isolation/checkins/missed",
    "flagged check-ins": lambda w: "/api/v1/isolation/checkins/flagged",
}


@pytest.mark.parametrize("name", list(LISTS))
def test_it_shows_the_lists_only_to_isolation_viewers(
    name: str, client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    assert_authorization_matrix(
        client=client,
        session=session,
        method="GET",
        url=LISTS[name](world),
        refusals=[
            *anonymous_and_resident(personas),
            Refusal(
                "sampler (no isolation permission)",
                personas.bearer(personas.user("sampler", Role.SAMPLER, LUSONG)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
        ],
        allowed_headers=manager(personas),
        allowed_status=200,
    )
