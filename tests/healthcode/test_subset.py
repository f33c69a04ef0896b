"""The event-driven recompute's column path (``subset``) decides, for any batch of people,
what the per-person engine decides for them, and ``recompute_affected`` stores exactly those
codes, each change with its change row and its chained audit event.

On the synthetic city of test_vector.py, whose facts reach every rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.audit import AuditEvent
from fangkong.healthcode import service, subset
from fangkong.healthcode.models import HealthCode, HealthCodeChange
from tests.healthcode.builders import section
from tests.healthcode.test_vector import DECIDING_RULES, NOW, Stored, per_person, seed
from tests.personas import Personas

PACKS = ("cn-9", "zhuzhou-2022-11")


@pytest.fixture
def city(session: Session, personas: Personas) -> list[int]:
    return seed(session, personas)


def _decided(session: Session, ids: list[int], pack_id: str, at_days: int) -> dict[int, Stored]:
    now = NOW + timedelta(days=at_days)
    decided = subset.decide(session=session, person_ids=ids, now=now, pack=section(pack_id))
    return {pid: (d.colour, d.rule_id, d.reasons, d.valid_until) for pid, d in decided.items()}


@pytest.mark.parametrize("pack_id", PACKS)
def test_any_batch_decides_what_the_engine_decides(
    session: Session, city: list[int], pack_id: str
) -> None:
    deciding: set[str] = set()
    # Two interleaved halves, and a batch of one: each read restricted to its own people.
    for batch in (city[::2], city[1::2], city[7:8]):
        for at_days in (0, 3):
            expected = per_person(session, batch, NOW + timedelta(days=at_days), pack_id)

            assert _decided(session, batch, pack_id, at_days) == expected
            deciding |= {rule for _, rule, _, _ in expected.values()}
    assert deciding == DECIDING_RULES[pack_id]


def test_unregistered_people_are_skipped(session: Session, city: list[int]) -> None:
    unknown = max(city) + 1000

    decided = _decided(session, [city[0], unknown], "cn-9", 0)

    assert sorted(decided) == [city[0]]


def _stored(session: Session, ids: list[int]) -> dict[int, Stored]:
    stmt = select(
        HealthCode.person_id,
        HealthCode.colour,
        HealthCode.rule_id,
        HealthCode.reasons,
        HealthCode.valid_until,
    ).where(HealthCode.person_id.in_(ids))
    return {
        pid: (c, r, tuple(reasons), until) for pid, c, r, reasons, until in session.execute(stmt)
    }


def _count(session: Session, model: type[AuditEvent] | type[HealthCodeChange]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_event_path_stores_the_engines_codes_with_their_records(
    session: Session, city: list[int]
) -> None:
    pack = section("zhuzhou-2022-11")
    batch = city[::2]
    events_before, changes_before = _count(session, AuditEvent), _count(session, HealthCodeChange)

    first = service.recompute_affected(session=session, person_ids=batch, now=NOW, pack=pack)

    assert first == service.RecomputeResult(tuple(batch), (), 0, ())
    assert _stored(session, batch) == per_person(session, batch, NOW, "zhuzhou-2022-11")
    assert _count(session, HealthCodeChange) == changes_before + len(batch)
    assert _count(session, AuditEvent) == events_before + len(batch)
    assert audit.verify_chain(session=session).is_intact

    later = NOW + timedelta(days=3)
    second = service.recompute_affected(session=session, person_ids=batch, now=later, pack=pack)

    expected = per_person(session, batch, later, "zhuzhou-2022-11")
    assert _stored(session, batch) == expected
    moved = {pid for pid in batch if expected[pid][:2] != _first_code(session, pid)}
    assert set(second.changed) == moved and moved
    assert audit.verify_chain(session=session).is_intact

    third = service.recompute_affected(session=session, person_ids=batch, now=later, pack=pack)

    assert third == service.RecomputeResult((), (), len(batch), ())


def _first_code(session: Session, person_id: int) -> tuple[str, str]:
    """The colour and rule of the person's first recorded code."""
    row = session.execute(
        select(HealthCodeChange.new_colour, HealthCodeChange.rule_id)
        .where(HealthCodeChange.person_id == person_id)
        .order_by(HealthCodeChange.id)
    ).first()
    assert row is not None
    return (row[0], row[1])
