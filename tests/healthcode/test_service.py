"""Stored codes: recompute writes only what changed, with a change row and an audit event."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent, events_for
from fangkong.healthcode import facts as hc_facts
from fangkong.healthcode import service
from fangkong.healthcode.enums import ContactKind, RiskLevel, SampleResult
from fangkong.healthcode.facts import (
    AreaFacts,
    RiskVisit,
    Sample,
    SkippedRound,
    TracingFacts,
)
from fangkong.healthcode.models import HealthCode, HealthCodeChange
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.healthcode.service import FactGroup, FactsProvider
from fangkong.registry.models import Person
from fangkong.rulepacks.catalog import load_catalog

CST = timezone(timedelta(hours=8))
NOW = datetime(2022, 11, 15, 12, 0, tzinfo=CST)
CATALOG = load_catalog(schemas=[HEALTHCODE_SECTION])
CN9 = CATALOG.get("cn-9").section(HEALTHCODE_SECTION)
CN20 = CATALOG.get("cn-20").section(HEALTHCODE_SECTION)
ZHUZHOU = CATALOG.get("zhuzhou-2022-11", 1).section(HEALTHCODE_SECTION)
_serial = itertools.count(1)


def make_person(session: Session) -> int:
    number = next(_serial)
    person = Person(
        area_path="/43/4302/430203/",
        document_type="resident_id",
        id_number_encrypted=f"test:{number}",
        id_number_index=f"test-hc-{number}-{id(session)}",
        id_number_masked="4302**********0000",
        name=f"测试{number}",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(person)
    session.flush()
    return person.id


def provide(groups: Mapping[int, FactGroup]) -> FactsProvider:
    def provider(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]:
        return {pid: group for pid, group in groups.items() if pid in person_ids}

    return provider


def changes(session: Session, person_id: int) -> list[HealthCodeChange]:
    stmt = (
        select(HealthCodeChange)
        .where(HealthCodeChange.person_id == person_id)
        .order_by(HealthCodeChange.id)
    )
    return list(session.scalars(stmt))


def audit_count(session: Session) -> int:
    stmt = select(func.count()).where(AuditEvent.action == "healthcode.changed")
    return session.scalar(stmt) or 0


def test_it_stores_first_codes_with_a_change_row_and_an_audit_event(session: Session) -> None:
    contact, nobody = make_person(session), make_person(session)
    tracing = TracingFacts(contact=ContactKind.CLOSE, last_exposure_at=NOW - timedelta(days=1))

    result = service.recompute_for(
        session=session,
        person_ids=[contact, nobody],
        now=NOW,
        pack=CN9,
        providers=[provide({contact: tracing})],
    )

    assert result == service.RecomputeResult((contact, nobody), (), 0, ())
    stored = service.get(session=session, person_id=contact)
    assert stored is not None
    assert (stored.colour, stored.rule_id, stored.pack_id, stored.pack_version) == (
        "red",
        "hc.close_contact",
        "cn-9",
        1,
    )
    assert (stored.reasons, stored.decided_at, stored.revision) == (["close_contact"], NOW, 1)
    [change] = changes(session, contact)
    assert (change.old_colour, change.new_colour, change.rule_id, change.trigger_fact) == (
        None,
        "red",
        "hc.close_contact",
        "contact",
    )
    [event] = events_for(session=session, subject_type="person", subject_id=contact)
    assert (event.actor_label, event.rule_ref, event.before) == (
        "system",
        "cn-9@1#hc.close_contact",
        None,
    )
    assert event.after == {
        "colour": "red",
        "rule": "cn-9@1#hc.close_contact",
        "reasons": ["close_contact"],
    }


def test_it_writes_nothing_when_no_code_changed(session: Session) -> None:
    person = make_person(session)
    service.recompute_for(session=session, person_ids=[person], now=NOW, pack=CN9)
    events_before = audit_count(session)

    result = service.recompute_for(
        session=session, person_ids=[person], now=NOW + timedelta(hours=1), pack=CN9
    )

    assert result == service.RecomputeResult((), (), 1, ())
    assert audit_count(session) == events_before
    assert len(changes(session, person)) == 1
    stored = service.get(session=session, person_id=person)
    assert stored is not None and (stored.revision, stored.decided_at) == (1, NOW)


def test_it_records_old_and_new_when_a_test_clears_a_skipped_round(session: Session) -> None:
    person = make_person(session)
    skipped = hc_facts.TestingFacts(skipped_rounds=(SkippedRound("r-1", NOW - timedelta(days=1)),))
    service.recompute_for(
        session=session,
        person_ids=[person],
        now=NOW,
        pack=ZHUZHOU,
        providers=[provide({person: skipped})],
    )
    tested = hc_facts.TestingFacts(
        skipped_rounds=skipped.skipped_rounds,
        samples=(Sample(NOW + timedelta(hours=1), SampleResult.PENDING),),
    )
    later = NOW + timedelta(hours=2)

    result = service.recompute_for(
        session=session,
        person_ids=[person],
        now=later,
        pack=ZHUZHOU,
        providers=[provide({person: tested})],
    )

    assert result.changed == (person,)
    first, second = changes(session, person)
    assert (first.new_colour, first.rule_id, first.trigger_fact) == (
        "yellow",
        "zz.skipped_round",
        "skipped_rounds",
    )
    assert (second.old_colour, second.old_rule_id, second.new_colour, second.rule_id) == (
        "yellow",
        "zz.skipped_round",
        "green",
        "hc.no_risk",
    )
    assert (second.changed_at, second.trigger_fact, second.pack_id) == (
        later,
        None,
        "zhuzhou-2022-11",
    )
    last = events_for(session=session, subject_type="person", subject_id=person)[-1]
    assert last.before == {"colour": "yellow", "rule": "zhuzhou-2022-11@1#zz.skipped_round"}
    assert last.rule_ref == "zhuzhou-2022-11@1#hc.no_risk"
    stored = service.get(session=session, person_id=person)
    assert stored is not None and (stored.colour, stored.revision, stored.decided_at) == (
        "green",
        2,
        later,
    )


def test_it_refreshes_validity_without_an_event_when_the_code_stays(session: Session) -> None:
    person = make_person(session)
    first_visit = AreaFacts(visits=(RiskVisit(RiskLevel.HIGH, NOW - timedelta(days=3)),))
    service.recompute_for(
        session=session,
        person_ids=[person],
        now=NOW,
        pack=CN9,
        providers=[provide({person: first_visit})],
    )
    events_before = audit_count(session)
    second_visit = AreaFacts(
        visits=(*first_visit.visits, RiskVisit(RiskLevel.HIGH, NOW - timedelta(days=1)))
    )

    result = service.recompute_for(
        session=session,
        person_ids=[person],
        now=NOW,
        pack=CN9,
        providers=[provide({person: second_visit})],
    )

    assert result == service.RecomputeResult((), (person,), 0, ())
    assert audit_count(session) == events_before
    stored = service.get(session=session, person_id=person)
    session.refresh(stored)
    assert stored is not None
    assert (stored.colour, stored.revision) == ("red", 2)
    assert stored.valid_until == NOW + timedelta(days=6)


def test_it_moves_to_a_new_pack_without_an_event_when_colour_and_rule_stay(
    session: Session,
) -> None:
    person = make_person(session)
    service.recompute_for(session=session, person_ids=[person], now=NOW, pack=CN9)
    events_before = audit_count(session)

    result = service.recompute_for(session=session, person_ids=[person], now=NOW, pack=CN20)

    assert result == service.RecomputeResult((), (person,), 0, ())
    assert audit_count(session) == events_before
    pack_id, rule_id = session.execute(
        select(HealthCode.pack_id, HealthCode.rule_id).where(HealthCode.person_id == person)
    ).one()
    assert (pack_id, rule_id) == ("cn-20", "hc.no_risk")


def test_it_combines_facts_from_several_domains(session: Session) -> None:
    person = make_person(session)
    tracing = TracingFacts(contact=ContactKind.CLOSE)
    areas = AreaFacts(visits=(RiskVisit(RiskLevel.MEDIUM, NOW - timedelta(days=1)),))

    service.recompute_for(
        session=session,
        person_ids=[person],
        now=NOW,
        pack=CN9,
        providers=[provide({person: tracing}), provide({person: areas})],
    )

    stored = service.get(session=session, person_id=person)
    assert stored is not None
    assert stored.reasons == ["close_contact", "visited_medium_risk_area"]


def test_it_does_not_overwrite_a_code_written_while_facts_were_gathered(session: Session) -> None:
    person = make_person(session)
    service.recompute_for(session=session, person_ids=[person], now=NOW, pack=CN9)
    events_before = audit_count(session)

    def concurrent_writer(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]:
        session.execute(
            update(HealthCode)
            .where(HealthCode.person_id == person)
            .values(colour="yellow", revision=HealthCode.revision + 1)
        )
        return {person: TracingFacts(contact=ContactKind.CLOSE)}

    result = service.recompute_for(
        session=session, person_ids=[person], now=NOW, pack=CN9, providers=[concurrent_writer]
    )

    assert result == service.RecomputeResult((), (), 0, (person,))
    assert audit_count(session) == events_before
    assert len(changes(session, person)) == 1
    colour, revision = session.execute(
        select(HealthCode.colour, HealthCode.revision).where(HealthCode.person_id == person)
    ).one()
    assert (colour, revision) == ("yellow", 2)


def test_it_does_not_duplicate_a_first_code_inserted_meanwhile(session: Session) -> None:
    person = make_person(session)

    def concurrent_first(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]:
        service.recompute_for(session=session, person_ids=[person], now=now, pack=CN9)
        return {}

    result = service.recompute_for(
        session=session, person_ids=[person], now=NOW, pack=CN9, providers=[concurrent_first]
    )

    assert result == service.RecomputeResult((), (), 0, (person,))
    assert len(changes(session, person)) == 1
