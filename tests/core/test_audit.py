from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update
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
    with pytest.raises(ValueError, match="naive datetime refused"):
        audit.record(
            session=session,
            actor=ACTOR,
            action="x",
            subject_type="s",
            subject_id=1,
            occurred_at=datetime(2022, 11, 9),  # noqa: DTZ001
        )


def _three_events(session: Session) -> list[AuditEvent]:
    events = [
        audit.record(
            session=session,
            actor=ACTOR,
            action="code.override",
            subject_type="person",
            subject_id=n,
            before={"colour": "red"},
            after={"colour": "green"},
            reason=f"appeal {n} upheld",
        )
        for n in (1, 2, 3)
    ]
    session.flush()
    return events


def test_it_chains_each_event_to_the_one_before(session: Session) -> None:
    first, second, third = _three_events(session)
    assert (second.prev_hash, third.prev_hash) == (first.entry_hash, second.entry_hash)
    report = audit.verify_chain(session=session)
    assert report.is_intact
    assert report.events_checked >= 3


def test_it_catches_an_edited_event(session: Session) -> None:
    _, second, _ = _three_events(session)
    session.execute(
        update(AuditEvent).where(AuditEvent.id == second.id).values(reason="nothing to see")
    )
    session.expire_all()
    report = audit.verify_chain(session=session)
    assert report.first_break == audit.ChainBreak(second.id, "edited")


def test_it_catches_a_deleted_event(session: Session) -> None:
    _, second, third = _three_events(session)
    session.execute(delete(AuditEvent).where(AuditEvent.id == second.id))
    report = audit.verify_chain(session=session)
    assert report.first_break == audit.ChainBreak(third.id, "broken_link")


def test_it_catches_reordered_events(session: Session) -> None:
    first, second, _ = _three_events(session)
    # Swap the two rows' positions in the log by swapping their ids.
    for old, new in ((first.id, -1), (second.id, first.id), (-1, second.id)):
        session.execute(update(AuditEvent).where(AuditEvent.id == old).values(id=new))
    session.expire_all()
    report = audit.verify_chain(session=session)
    assert report.first_break == audit.ChainBreak(first.id, "broken_link")
