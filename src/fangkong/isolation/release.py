"""Tests under an order and what the pack says about releasing it (changes nothing: the release
itself is ``actions.release``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError
from fangkong.core.scope import Actor
from fangkong.isolation import events
from fangkong.isolation.enums import Category, OrderStatus, SampleResult
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import IsolationOrder, IsolationTest
from fangkong.isolation.orders import get_order_or_raise, section_for
from fangkong.isolation.rules import ScheduledTest, phase_day, release_check, required_tests
from fangkong.isolation.schemas import OrderFacts, ReleaseDecision, TakenTest


def record_test(
    *,
    session: Session,
    actor: Actor,
    order_id: int,
    sampled_at: datetime,
    result: SampleResult,
    ct: float | None,
) -> IsolationTest:
    """File a test under the order's current phase, on the phase day it was sampled."""
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.ACTIVE:
        raise Conflict(IsolationErrorCode.STATUS_CONFLICT, f"order {order.id} is {order.status}")
    day = phase_day(phase_started_at=order.phase_started_at, sampled_at=sampled_at)
    if sampled_at < order.phase_started_at or sampled_at > order.planned_end_at:
        raise FangkongError(
            IsolationErrorCode.TEST_DAY_OUT_OF_PHASE,
            "the sample was taken outside the current phase",
            field="sampled_at",
        )
    test = IsolationTest(
        order_id=order.id,
        phase_index=order.phase_index,
        day=day,
        sampled_at=sampled_at,
        result=str(result),
        ct=ct,
        recorded_at=clock.now(),
    )
    session.add(test)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.test.recorded",
        subject_type="isolation_order",
        subject_id=order.id,
        after={"phase_index": order.phase_index, "day": day, "result": str(result), "ct": ct},
    )
    return test


def check_release(*, session: Session, order: IsolationOrder) -> ReleaseDecision:
    """What the pack says about releasing the order now (changes nothing)."""
    section = section_for(pack_id=order.pack_id, version=order.pack_version, now=clock.now())
    tests = session.scalars(
        select(IsolationTest).where(
            IsolationTest.order_id == order.id, IsolationTest.phase_index == order.phase_index
        )
    )
    facts = OrderFacts(
        category=Category(order.category),
        phase_index=order.phase_index,
        phase_ends_at=order.planned_end_at,
        tests=tuple(TakenTest(t.day, SampleResult(t.result), t.ct) for t in tests),
        phase_started_at=order.phase_started_at,
        order_started_at=order.created_at,
    )
    return release_check(facts=facts, now=clock.now(), section=section)


def schedule_of(*, session: Session, order: IsolationOrder) -> list[ScheduledTest]:
    """The order's required tests so far (every phase up to the current one) with results."""
    section = section_for(pack_id=order.pack_id, version=order.pack_version, now=clock.now())
    rule = section.rule_for(Category(order.category))
    if rule is None:
        return []
    starts = []
    start = order.anchor_at
    for index in range(order.phase_index):
        starts.append(start)
        start += rule.phases[index].duration
    starts.append(order.phase_started_at)
    tests = session.execute(
        select(IsolationTest.phase_index, IsolationTest.day, IsolationTest.result).where(
            IsolationTest.order_id == order.id
        )
    ).all()
    return required_tests(
        rule=rule,
        phase_starts=starts,
        tests=[(index, day, SampleResult(result)) for index, day, result in tests],
        order_started_at=order.created_at,
        section=section,
    )
