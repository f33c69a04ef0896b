"""The drill's isolation steps through the real release path: which orders need a test today,
and orders moved on, released or held on their day (both databases)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.drill import platform
from fangkong.isolation import service
from fangkong.isolation.enums import OrderStatus, SampleResult
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import IsolationOrder
from tests.isolation.test_service import EXPOSED, ORDERED, manager, order_for, resident
from tests.personas import Personas

D = timedelta(days=1)
MORNING = timedelta(hours=6)


def file(
    session: Session, actor: Actor, order: IsolationOrder, days: dict[int, SampleResult]
) -> None:
    """File the order's tests taken on these days of its current phase."""
    for day, result in days.items():
        service.record_test(
            session=session,
            actor=actor,
            order_id=order.id,
            sampled_at=order.phase_started_at + (day - 1) * D + MORNING,
            result=result,
            ct=None,
        )


def test_orders_move_on_are_released_or_held_on_their_day(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    manual = clock.ManualClock(ORDERED)
    neg, pos = SampleResult.NEGATIVE, SampleResult.POSITIVE
    with clock.use_clock(manual):
        clean = order_for(session, actor, resident(session, "甲"))
        missing = order_for(session, actor, resident(session, "乙"))
        positive = order_for(session, actor, resident(session, "丙"))
        # cn-9 close contacts: tests on days 1, 2, 3, 5 and 7 of the centralised phase.
        first_morning = EXPOSED + MORNING
        assert platform.isolation_tests_due(session=session, sample_at=first_morning) == sorted(
            [clean.person_id, missing.person_id, positive.person_id]
        )
        file(session, actor, clean, {1: neg})
        assert platform.isolation_tests_due(session=session, sample_at=first_morning) == sorted(
            [missing.person_id, positive.person_id]
        )
        assert platform.isolation_tests_due(session=session, sample_at=first_morning + 3 * D) == []
        file(session, actor, clean, {2: neg, 3: neg, 5: neg, 7: neg})
        file(session, actor, missing, {1: neg, 2: neg, 3: neg, 7: neg})
        file(session, actor, positive, {1: neg, 2: pos})

        manual.set(EXPOSED + 7 * D + timedelta(hours=1))
        first = platform.release_due_orders(
            session=session, officer=actor, since=EXPOSED + 7 * D - timedelta(hours=1)
        )
        assert (first.released, first.next_phase) == ([], [clean.person_id])
        assert first.held == {
            str(IsolationErrorCode.TESTS_MISSING): 1,
            str(IsolationErrorCode.TEST_POSITIVE): 1,
        }
        # The home phase (3 days, a test on day 3) is due the next day only on its day 3.
        second_phase = clean.phase_started_at
        assert platform.isolation_tests_due(session=session, sample_at=second_phase + MORNING) == []
        assert platform.isolation_tests_due(
            session=session, sample_at=second_phase + 2 * D + MORNING
        ) == [clean.person_id]
        file(session, actor, clean, {3: neg})

        manual.set(EXPOSED + 10 * D + timedelta(hours=1))
        again = platform.release_due_orders(
            session=session, officer=actor, since=EXPOSED + 7 * D + timedelta(hours=1)
        )
    assert (again.released, again.next_phase, again.held) == ([clean.person_id], [], {})
    statuses = [o.status for o in (clean, missing, positive)]
    active = OrderStatus.ACTIVE.value
    assert statuses == [OrderStatus.RELEASED.value, active, active]
