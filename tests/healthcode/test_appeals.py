"""Appeals: a resident appeals once at a time; a reviewer decides with a reason, in their
jurisdiction; accepting can lead to an override under the normal approval rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import appeals, rules
from fangkong.healthcode.enums import AppealDecision, AppealStatus, OverrideStatus
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.overrides import OverrideRequest
from fangkong.registry.models import Person
from tests.healthcode.test_overrides import DAY, NOW, code_of, isolated_person, officer
from tests.personas import HETANG, Personas


def resident_of(personas: Personas, person: Person) -> Actor:
    assert person.household_id is not None
    return actor_for(
        personas.user(
            f"resident-{person.id}",
            Role.RESIDENT,
            person_id=person.id,
            household_id=person.household_id,
        )
    )


def test_a_resident_appeals_and_a_reviewer_accepts_with_an_override(
    session: Session, personas: Personas
) -> None:
    person = isolated_person(session)
    resident = resident_of(personas, person)
    reviewer = officer(personas, "reviewer")

    appeal = appeals.submit_appeal(
        session=session, actor=resident, text="  I was never told to isolate ", now=NOW
    )

    assert (appeal.status, appeal.text, appeal.colour, appeal.rule_id) == (
        AppealStatus.OPEN,
        "I was never told to isolate",
        "red",
        "hc.isolation",
    )
    assert appeal.due_at == NOW + rules.APPEAL_DEADLINE
    with pytest.raises(FangkongError) as twice:
        appeals.submit_appeal(session=session, actor=resident, text="again", now=NOW)
    assert twice.value.code is Code.APPEAL_ALREADY_OPEN
    assert [a.id for a in appeals.list_appeals(session=session, actor=reviewer)] == [appeal.id]

    outcome = appeals.decide_appeal(
        session=session,
        actor=reviewer,
        appeal_id=appeal.id,
        decision=AppealDecision.ACCEPT,
        reason="order was for a namesake",
        now=NOW + timedelta(hours=2),
        override=OverrideRequest(person.id, "green", "appeal accepted", NOW + 3 * DAY),
    )

    assert outcome.appeal.status == AppealStatus.ACCEPTED
    assert outcome.appeal.decision_reason == "order was for a namesake"
    assert outcome.override is not None and outcome.override.appeal_id == appeal.id
    # red → green: still waits for a second approver
    assert outcome.override.status == OverrideStatus.PENDING
    assert code_of(session, person)[0] == "red"
    assert [a.id for a in appeals.appeals_of(session=session, person_id=person.id)] == [appeal.id]
    assert not rules.is_overdue(due_at=appeal.due_at, decided_at=appeal.decided_at, now=NOW)


def test_it_refuses_bad_appeals_and_decisions(session: Session, personas: Personas) -> None:
    person = isolated_person(session)
    resident = resident_of(personas, person)
    with pytest.raises(FangkongError) as empty:
        appeals.submit_appeal(session=session, actor=resident, text="   ", now=NOW)
    appeal = appeals.submit_appeal(session=session, actor=resident, text="wrong", now=NOW)

    with pytest.raises(FangkongError) as no_reason:
        appeals.decide_appeal(
            session=session,
            actor=officer(personas, "reviewer"),
            appeal_id=appeal.id,
            decision=AppealDecision.REJECT,
            reason=" ",
            now=NOW,
        )
    with pytest.raises(FangkongError) as outside:
        appeals.decide_appeal(
            session=session,
            actor=officer(personas, "hetang", HETANG),
            appeal_id=appeal.id,
            decision=AppealDecision.REJECT,
            reason="no",
            now=NOW,
        )

    assert empty.value.code is Code.APPEAL_TEXT_REQUIRED
    assert no_reason.value.code is Code.APPEAL_REASON_REQUIRED
    assert outside.value.code is Code.APPEAL_NOT_FOUND
    assert appeal.status == AppealStatus.OPEN
    assert rules.is_overdue(due_at=appeal.due_at, decided_at=None, now=NOW + 2 * DAY)
