"""The authorization matrix of every isolation endpoint not covered in test_views.py:
anonymous, a resident, a role without the permission, a manager of another district (the
subject does not exist for them), then the allowed call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.errors import CoreErrorCode
from fangkong.isolation import actions, service
from fangkong.isolation.enums import Category, FacilityStatus
from fangkong.isolation.errors import IsolationErrorCode
from tests import places
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas

EXPOSED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    facility_id: int
    room_id: int
    order_id: int
    assigned_order_id: int


def build(session: Session, personas: Personas) -> World:
    actor = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    facility = service.create_facility(
        session=session,
        actor=actor,
        name="芦淞隔离点",
        area_code=LUSONG,
        status=FacilityStatus.IN_USE,
    )
    room = service.add_room(
        session=session, actor=actor, facility_id=facility.id, label="101", capacity=4
    )
    home = places.household(
        session, places.building(session, places.compound(session, "芦淞花园"), "1栋")
    )
    section = service.section_for(pack_id="cn-9", version=None, now=EXPOSED)
    orders = [
        service.create_order(
            session=session,
            actor=actor,
            person_id=places.person(session, name, at=home).id,
            category=Category.HIGH_AREA_STAY,  # 7 days centralised, no test days: releasable now
            last_exposure_at=EXPOSED,
            section=section,
        )
        for name in ("张三", "李四")
    ]
    actions.assign_room(session=session, actor=actor, order_id=orders[1].id, room_id=room.id)
    session.flush()
    return World(facility.id, room.id, orders[0].id, orders[1].id)


def assert_count(listed: list[dict[str, Any]], rows: int) -> None:
    assert len(listed) == rows, listed


Endpoint = Callable[[World], tuple[str, str, Any, int]]
ENDPOINTS: dict[str, Endpoint] = {
    "set facility status": lambda w: (
        "PUT",
        f"/api/v1/isolation/facilities/{w.facility_id}/status",
        {"status": "in_use"},
        200,
    ),
    "add a room": lambda w: (
        "POST",
        f"/api/v1/isolation/facilities/{w.facility_id}/rooms",
        {"label": "102", "capacity": 2},
        201,
    ),
    "assign a room": lambda w: (
        "POST",
        f"/api/v1/isolation/orders/{w.order_id}/assign",
        {"room_id": w.room_id},
        200,
    ),
    "record a test": lambda w: (
        "POST",
        f"/api/v1/isolation/orders/{w.order_id}/tests",
        {"sampled_at": (EXPOSED + timedelta(hours=5)).isoformat(), "result": "negative"},
        204,
    ),
    "release": lambda w: (
        "POST",
        f"/api/v1/isolation/orders/{w.assigned_order_id}/release",
        None,
        200,
    ),
    "extend": lambda w: (
        "POST",
        f"/api/v1/isolation/orders/{w.order_id}/extend",
        {
            "new_end_at": (EXPOSED + timedelta(days=9)).isoformat(),
            "reason": "case in the household",
        },
        200,
    ),
    "end early": lambda w: (
        "POST",
        f"/api/v1/isolation/orders/{w.order_id}/end",
        {"reason": "hospital"},
        200,
    ),
    "propose placements": lambda w: (
        "POST",
        "/api/v1/isolation/placements",
        {"order_ids": [w.order_id]},
        200,
    ),
}
NOT_FOUND = {
    "set facility status": IsolationErrorCode.FACILITY_NOT_FOUND,
    "add a room": IsolationErrorCode.FACILITY_NOT_FOUND,
}


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_it_refuses_every_manage_endpoint_to_those_who_may_not(
    name: str, client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    method, url, body, allowed_status = ENDPOINTS[name](world)
    hetang = personas.bearer(personas.user(f"iso-{HETANG}", Role.ISOLATION_MANAGER, HETANG))

    assert_authorization_matrix(
        client=client,
        session=session,
        method=method,
        url=url,
        json=body,
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "resident",
                personas.bearer(personas.resident()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "grid worker (may view only)",
                personas.bearer(personas.grid_worker()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "manager of another district",
                hetang,
                404,
                NOT_FOUND.get(name, IsolationErrorCode.ORDER_NOT_FOUND),
            ),
        ],
        allowed_headers=personas.bearer(
            personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG)
        ),
        allowed_status=allowed_status,
    )


@pytest.mark.parametrize(
    ("path", "rows"),
    [
        ("/api/v1/isolation/facilities", 1),
        ("/api/v1/isolation/orders", 2),
        ("/api/v1/isolation/facilities/{id}/rooms", 1),
    ],
)
def test_it_shows_isolation_only_to_viewers_and_only_their_jurisdiction(
    path: str, rows: int, client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session, personas)
    url = path.format(id=world.facility_id)
    hetang = personas.bearer(personas.user(f"iso-{HETANG}", Role.ISOLATION_MANAGER, HETANG))
    hetang_answer = client.get(url, headers=hetang)

    assert_authorization_matrix(
        client=client,
        session=session,
        method="GET",
        url=url,
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "resident",
                personas.bearer(personas.resident()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "sampler (no isolation permission)",
                personas.bearer(personas.user("sampler", Role.SAMPLER, LUSONG)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
        ],
        allowed_headers=personas.bearer(
            personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG)
        ),
        allowed_status=200,
        check_allowed=lambda listed: assert_count(listed, rows),
    )
    if "{id}" in path:
        assert (hetang_answer.status_code, hetang_answer.json()["code"]) == (
            404,
            IsolationErrorCode.FACILITY_NOT_FOUND,
        )
    else:
        assert (hetang_answer.status_code, hetang_answer.json()) == (200, [])
