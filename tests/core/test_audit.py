from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.audit import AuditEvent
from fangkong.core.scope import Actor

ACTOR = Actor(user_id=7, username="officer", role="district_officer", permissions=frozenset())


def test_it_commits_an_event_together_with_the_change(session: Session) -> None:
    audit.record(
        session=session,
        actor=ACTOR,
        action="area.rename",
        subject_type="area",
        subject_id=1,
        before={"name": "东区"},
        after={"name": "荷塘区"},
        reason="official renaming",
        occurred_at=datetime(2022, 11, 9, tzinfo=UTC),
    )
    session.commit()
    [event] = audit.events_for(session=session, subject_type="area", subject_id=1)
    assert (event.actor_label, event.action, event.before, event.after, event.reason) == (
        "officer",
        "area.rename",
        {"name": "东区"},
        {"name": "荷塘区"},
        "official renaming",
    )
    assert event.occurred_at == datetime(2022, 11, 9, tzinfo=UTC)


def test_it_rolls_the_event_back_with_a_failed_change(session: Session) -> None:
    savepoint = session.begin_nested()
    audit.record(session=session, actor=ACTOR, action="x.y", subject_type="area", subject_id=99)
    savepoint.rollback()
    assert session.scalars(select(AuditEvent).where(AuditEvent.subject_id == "99")).all() == []


def test_it_requires_a_rule_for_a_change_the_system_made_on_its_own(session: Session) -> None:
    with pytest.raises(ValueError, match="must cite the rule"):
        audit.record(session=session, actor=None, action="x", subject_type="s", subject_id=1)
    event = audit.record(
        session=session,
        actor=None,
        action="code.change",
        subject_type="person",
        subject_id=1,
        rule_ref="zhuzhou-2022-11@1:skipped-round",
    )
    assert event.actor_label == "system"


def test_it_refuses_naive_datetimes(session: Session) -> None:
    audit.record(
        session=session,
        actor=ACTOR,
        action="x",
        subject_type="s",
        subject_id=1,
        occurred_at=datetime(2022, 11, 9),  # noqa: DTZ001
    )
    with pytest.raises(Exception, match="naive datetime refused"):
        session.flush()
