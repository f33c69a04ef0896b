"""The authorization matrix of every health-code endpoint that changes something: anonymous, a
resident, a role without the permission, an officer of another district, then the allowed call.
A refused call changes nothing."""

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
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode
from fangkong.healthcode import appeals, overrides, service
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.overrides import OverrideRequest
from tests import places
from tests.authz import Refusal, assert_authorization_matrix
from tests.healthcode import world
from tests.personas import HETANG, LUSONG, Personas

NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)
API = "/api/v1/healthcode"


@dataclass(frozen=True)
class World:
    person_id: int
    pending_id: int
    active_id: int
    appeal_id: int


def build(session: Session, personas: Personas) -> World:
    people = []
    for name in ("甲", "乙", "丙"):
        home = places.household(
            session, places.building(session, places.compound(session, f"{name}小区"), "1栋")
        )
        person = places.person(session, name, at=home)
        world.order(
            session, person, kind="centralised", since=NOW - timedelta(days=1), status="active"
        )
        people.append(person)
    service.recompute_affected(session=session, person_ids=[p.id for p in people], now=NOW)
    asker = actor_for(personas.user("asker", Role.DISTRICT_OFFICER, LUSONG))
    expires = NOW + timedelta(days=2)
    pending = overrides.request_override(
        session=session,
        actor=asker,
        request=OverrideRequest(people[0].id, "green", "r", expires),
        now=NOW,
    )
    active = overrides.request_override(
        session=session,
        actor=asker,
        request=OverrideRequest(people[1].id, "yellow", "r", expires),
        now=NOW,
    )
    assert people[2].household_id is not None
    resident = actor_for(
        personas.user(
            "appellant", Role.RESIDENT, person_id=people[2].id, household_id=people[2].household_id
        )
    )
    appeal = appeals.submit_appeal(session=session, actor=resident, text="wrong", now=NOW)
    session.flush()
    return World(people[2].id, pending.id, active.id, appeal.id)


Endpoint = Callable[[World], tuple[str, Any, int]]
ENDPOINTS: dict[str, Endpoint] = {
    "request an override": lambda w: (
        f"{API}/overrides",
        {
            "person_id": w.person_id,
            "colour": "yellow",
            "reason": "recheck",
            "expires_at": (NOW + timedelta(days=1)).isoformat(),
        },
        201,
    ),
    "approve an override": lambda w: (f"{API}/overrides/{w.pending_id}/approve", {}, 200),
    "refuse an override": lambda w: (
        f"{API}/overrides/{w.pending_id}/refuse",
        {"note": "no evidence"},
        200,
    ),
    "revoke an override": lambda w: (
        f"{API}/overrides/{w.active_id}/revoke",
        {"note": "facts corrected"},
        200,
    ),
    "decide an appeal": lambda w: (
        f"{API}/appeals/{w.appeal_id}/decide",
        {"decision": "reject", "reason": "the order stands"},
        200,
    ),
}
OUTSIDE = {
    "request an override": (403, CoreErrorCode.OUTSIDE_JURISDICTION),
    "approve an override": (404, Code.OVERRIDE_NOT_FOUND),
    "refuse an override": (404, Code.OVERRIDE_NOT_FOUND),
    "revoke an override": (404, Code.OVERRIDE_NOT_FOUND),
    "decide an appeal": (404, Code.APPEAL_NOT_FOUND),
}


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_it_refuses_every_change_to_those_who_may_not(
    name: str, client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(NOW)):
        w = build(session, personas)
        url, body, allowed_status = ENDPOINTS[name](w)
        outside_status, outside_code = OUTSIDE[name]
        refusals = [
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "resident",
                personas.bearer(personas.user("appellant", Role.RESIDENT)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "grid worker",
                personas.bearer(personas.grid_worker()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "other district",
                personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG)),
                outside_status,
                outside_code,
            ),
        ]
        assert_authorization_matrix(
            client=client,
            session=session,
            method="POST",
            url=url,
            json=body,
            refusals=refusals,
            allowed_headers=personas.bearer(personas.user("second", Role.DISTRICT_OFFICER, LUSONG)),
            allowed_status=allowed_status,
        )
