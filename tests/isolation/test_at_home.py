"""People who cannot be moved isolate at home with the reason, and a late order is released on
the tests it could take (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import FangkongError
from fangkong.isolation import actions, service
from fangkong.isolation.enums import PlacementReason, ReleaseOutcome, SampleResult
from fangkong.isolation.errors import IsolationErrorCode
from tests.authz import snapshot
from tests.isolation.test_service import (
    EXPOSED,
    ORDERED,
    D,
    facility_with_room,
    manager,
    order_for,
    resident,
)
from tests.personas import Personas


def test_an_infant_isolates_at_home_with_the_reason(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        order = order_for(session, actor, resident(session, "小宝"))

        actions.isolate_at_home(
            session=session, actor=actor, order_id=order.id, reason=PlacementReason.INFANT
        )

    assert (order.kind, order.room_id, order.note) == ("home_isolation", None, "at home: infant")
    assert (order.phase_index, order.planned_end_at) == (0, EXPOSED + 7 * D)


@pytest.mark.parametrize(
    ("_case", "reason", "placed", "code"),
    [
        ("no capacity is no reason", PlacementReason.NO_CAPACITY, False, "reason_required"),
        (
            "the pack's home rule is no reason",
            PlacementReason.HOME_BY_RULE,
            False,
            "reason_required",
        ),
        ("already in a room", PlacementReason.BEDRIDDEN, True, "already_assigned"),
    ],
)
def test_it_refuses_and_changes_nothing(
    session: Session,
    personas: Personas,
    _case: str,
    reason: PlacementReason,
    placed: bool,
    code: str,
) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        order = order_for(session, actor, resident(session, "李四"))
        if placed:
            room = facility_with_room(session, actor, capacity=1)
            actions.assign_room(session=session, actor=actor, order_id=order.id, room_id=room.id)
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.isolate_at_home(session=session, actor=actor, order_id=order.id, reason=reason)

        assert refused.value.code == IsolationErrorCode(f"isolation.{code}")
        assert snapshot(session) == before


def test_a_contact_found_on_day_4_moves_on_with_the_tests_it_could_take(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    found = EXPOSED + 3 * D + D / 12  # 3 days and 2 hours after the last exposure
    manual = clock.ManualClock(found)
    with clock.use_clock(manual):
        order = order_for(session, actor, resident(session, "王五"))
        for day in (5, 7):
            service.record_test(
                session=session,
                actor=actor,
                order_id=order.id,
                sampled_at=EXPOSED + (day - 1) * D + D / 4,
                result=SampleResult.NEGATIVE,
                ct=None,
            )
        manual.set(EXPOSED + 7 * D + D / 24)
        schedule = service.schedule_of(session=session, order=order)
        decision = service.check_release(session=session, order=order)

    assert [(t.phase_index, t.day, t.result) for t in schedule] == [
        (0, 5, SampleResult.NEGATIVE),
        (0, 7, SampleResult.NEGATIVE),
    ]
    assert decision.outcome is ReleaseOutcome.NEXT_PHASE
