"""The authorization matrix of the risk-area endpoints not covered in test_views.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.areas import actions, jobs, service
from fangkong.areas.enums import RiskLevel, TargetKind
from fangkong.areas.errors import AreasErrorCode
from fangkong.areas.schemas import DayFactsIn
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode
from tests import places
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas

START = datetime(2022, 11, 12, 12, 0, tzinfo=UTC)


def pending_district(session: Session, personas: Personas) -> int:
    """芦淞区 at low under the Zhuzhou overlay, 3 quiet days later: normal awaits an officer."""
    actor = actor_for(personas.user(f"officer-{LUSONG}", Role.DISTRICT_OFFICER, LUSONG))
    manual = clock.ManualClock(START)
    with clock.use_clock(manual):
        designation = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.AREA,
            target_id=places.area(session, LUSONG).id,
            unit=None,
            level=RiskLevel.LOW,
            controls=[],
            reason="district with cases",
            section=service.section_for(pack_id="zhuzhou-2022-11", version=None, now=START),
        )
        actions.confirm(session=session, actor=actor, designation_id=designation.id)
        for day in range(1, 4):
            manual.set(START + timedelta(days=day))
            actions.record_day(
                session=session,
                actor=actor,
                designation_id=designation.id,
                facts=DayFactsIn(
                    day=clock.now().date(), new_infections=0, rounds=1, negative_rounds=1
                ),
            )
        jobs.run_daily_evaluation(session=session)
    assert designation.pending_level == "normal"
    return designation.id


ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "record a day": ("PUT", "/days", {"day": "2022-11-16", "new_infections": 0}),
    "lift": ("POST", "/lift", {"reason": "risk assessment done"}),
    "confirm a proposed change": ("POST", "/confirm-change", None),
}


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_it_refuses_every_designate_endpoint_to_those_who_may_not(
    name: str, client: TestClient, session: Session, personas: Personas
) -> None:
    designation_id = pending_district(session, personas)
    method, suffix, body = ENDPOINTS[name]

    assert_authorization_matrix(
        client=client,
        session=session,
        method=method,
        url=f"/api/v1/risk-areas/{designation_id}{suffix}",
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
                "officer of another district",
                personas.bearer(personas.user(f"officer-{HETANG}", Role.DISTRICT_OFFICER, HETANG)),
                404,
                AreasErrorCode.DESIGNATION_NOT_FOUND,
            ),
        ],
        allowed_headers=personas.bearer(
            personas.user(f"officer-{LUSONG}", Role.DISTRICT_OFFICER, LUSONG)
        ),
        allowed_status=204 if method == "PUT" else 200,
    )


def test_it_lists_designations_only_to_viewers(
    client: TestClient, session: Session, personas: Personas
) -> None:
    pending_district(session, personas)

    def check(rows: list[dict[str, Any]]) -> None:
        assert [(row["name"], row["level"], row["pending_level"]) for row in rows] == [
            ("芦淞区", "low", "normal")
        ]

    assert_authorization_matrix(
        client=client,
        session=session,
        method="GET",
        url="/api/v1/risk-areas",
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "resident",
                personas.bearer(personas.resident()),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "sampler (no areas permission)",
                personas.bearer(personas.user("sampler", Role.SAMPLER, LUSONG)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
        ],
        allowed_headers=personas.bearer(personas.user("epi", Role.EPIDEMIOLOGIST, LUSONG)),
        allowed_status=200,
        check_allowed=check,
    )
