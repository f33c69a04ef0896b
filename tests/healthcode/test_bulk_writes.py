"""Recompute's set-based write path: one executemany per kind of write, a savepoint fallback
when some rows moved meanwhile, change rows and chained audit events for the changed only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.audit import AuditEvent
from fangkong.healthcode import service
from fangkong.healthcode.enums import ContactKind
from fangkong.healthcode.facts import PersonFacts, TracingFacts
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.rules import evaluate
from fangkong.healthcode.service import FactGroup
from tests.healthcode.test_service import CN9, NOW, audit_count, changes, make_person, provide

CLOSE = TracingFacts(contact=ContactKind.CLOSE, last_exposure_at=NOW - timedelta(days=1))


def _codes(session: Session, people: Sequence[int]) -> list[tuple[int, str, int]]:
    stmt = (
        select(HealthCode.person_id, HealthCode.colour, HealthCode.revision)
        .where(HealthCode.person_id.in_(people))
        .order_by(HealthCode.person_id)
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def test_a_batch_changes_only_the_codes_that_move(session: Session) -> None:
    people = [make_person(session) for _ in range(5)]
    service.recompute_for(session=session, person_ids=people, now=NOW, pack=CN9)
    before = audit_count(session)
    contacts = {pid: CLOSE for pid in people[1:3]}

    result = service.recompute_for(
        session=session, person_ids=people, now=NOW, pack=CN9, providers=[provide(contacts)]
    )

    assert result == service.RecomputeResult(tuple(people[1:3]), (), 3, ())
    assert _codes(session, people) == [
        (people[0], "green", 1),
        (people[1], "red", 2),
        (people[2], "red", 2),
        (people[3], "green", 1),
        (people[4], "green", 1),
    ]
    assert audit_count(session) == before + 2
    assert [(c.old_colour, c.new_colour) for c in changes(session, people[1])] == [
        (None, "green"),
        ("green", "red"),
    ]
    assert audit.verify_chain(session=session).is_intact


def test_rows_written_meanwhile_are_left_alone_and_the_rest_still_written(
    session: Session,
) -> None:
    people = [make_person(session) for _ in range(4)]
    service.recompute_for(session=session, person_ids=people, now=NOW, pack=CN9)
    before = audit_count(session)
    raced = people[2]

    def contacts_while_someone_writes(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]:
        session.execute(
            update(HealthCode)
            .where(HealthCode.person_id == raced)
            .values(colour="yellow", revision=HealthCode.revision + 1)
        )
        return {pid: CLOSE for pid in person_ids}

    result = service.recompute_for(
        session=session,
        person_ids=people,
        now=NOW,
        pack=CN9,
        providers=[contacts_while_someone_writes],
    )

    assert result == service.RecomputeResult((people[0], people[1], people[3]), (), 0, (raced,))
    assert _codes(session, people) == [
        (people[0], "red", 2),
        (people[1], "red", 2),
        (raced, "yellow", 2),
        (people[3], "red", 2),
    ]
    assert audit_count(session) == before + 3
    assert len(changes(session, raced)) == 1
    audited = session.scalars(
        select(AuditEvent.subject_id)
        .where(AuditEvent.action == "healthcode.changed")
        .order_by(AuditEvent.id.desc())
        .limit(3)
    ).all()
    assert sorted(audited) == sorted(str(p) for p in (people[0], people[1], people[3]))
    assert audit.verify_chain(session=session).is_intact


def test_decide_all_gives_each_person_what_evaluate_gives() -> None:
    facts = {1: PersonFacts(), 2: PersonFacts(tracing=CLOSE), 3: PersonFacts(), 4: PersonFacts()}
    decisions = service.decide_all(facts=facts, now=NOW, pack=CN9)
    assert decisions == {
        pid: evaluate(facts=mine, now=NOW, pack=CN9) for pid, mine in facts.items()
    }
    assert decisions[2].colour == "red"
    assert decisions[1] is decisions[3]
