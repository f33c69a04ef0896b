"""``db.bulk.execute_many`` stores exactly what a Core executemany of the same statement
stores: the same column values read back (times with and without microseconds, other zones,
NULLs, JSON arrays shared or not), the literal a statement carries, and the summed row count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from fangkong.db import bulk
from fangkong.healthcode.models import HealthCode, HealthCodeChange
from tests.healthcode.test_service import make_person

CST = timezone(timedelta(hours=8))
SHARED = ["hc.close_contact", "hc.skipped_rounds"]
KEYS = (
    "person_id",
    "changed_at",
    "old_colour",
    "new_colour",
    "old_rule_id",
    "rule_id",
    "pack_id",
    "pack_version",
    "trigger_fact",
    "reasons",
)


def _rows(person_id: int) -> list[dict[str, Any]]:
    times = [
        datetime(2022, 11, 15, 4, tzinfo=UTC),  # no microseconds
        datetime(2022, 11, 15, 12, 30, 1, 250, tzinfo=CST),  # another zone, microseconds
        datetime(2022, 11, 15, 4, tzinfo=UTC),
    ]
    reasons: list[Any] = [SHARED, ("hc.no_risk",), list(SHARED)]
    return [
        {
            "person_id": person_id,
            "changed_at": at,
            "old_colour": None if index == 0 else "green",
            "new_colour": "red",
            "old_rule_id": None,
            "rule_id": f"hc.rule_{index}",
            "pack_id": "cn",
            "pack_version": 9,
            "trigger_fact": None if index == 1 else "contact",
            "reasons": reasons[index],
        }
        for index, at in enumerate(times)
    ]


def _stored(session: Session, person_id: int) -> list[tuple[Any, ...]]:
    stmt = (
        select(*(HealthCodeChange.__table__.c[key] for key in KEYS))
        .where(HealthCodeChange.person_id == person_id)
        .order_by(HealthCodeChange.id)
    )
    return [tuple(row)[1:] for row in session.execute(stmt)]


def test_an_insert_stores_what_core_stores(session: Session) -> None:
    by_core, by_bulk = make_person(session), make_person(session)
    session.execute(insert(HealthCodeChange), _rows(by_core))

    count = bulk.execute_many(
        session.connection(), insert(HealthCodeChange), _rows(by_bulk), insert_keys=KEYS
    )

    assert count == 3
    assert _stored(session, by_bulk) == _stored(session, by_core)
    assert _stored(session, by_bulk)[1] == (
        datetime(2022, 11, 15, 4, 30, 1, 250, tzinfo=UTC),
        "green",
        "red",
        None,
        "hc.rule_1",
        "cn",
        9,
        None,
        ["hc.no_risk"],
    )


BUMP = (
    update(HealthCode)
    .where(HealthCode.person_id == bindparam("pid"), HealthCode.revision == bindparam("seen"))
    .values(revision=HealthCode.revision + 1, colour=bindparam("v_colour"))
)


def test_an_update_applies_the_statements_own_literal_and_counts_matched_rows(
    session: Session,
) -> None:
    people = [make_person(session) for _ in range(3)]
    at = datetime(2022, 11, 15, 4, tzinfo=UTC)
    session.execute(
        insert(HealthCode),
        [
            {
                "person_id": pid,
                "colour": "green",
                "rule_id": "hc.no_risk",
                "pack_id": "cn",
                "pack_version": 9,
                "reasons": ["hc.no_risk"],
                "decided_at": at,
                "valid_until": None,
                "revision": 1,
            }
            for pid in people
        ],
    )
    seen = [1, 1, 7]  # the third row moved on: its update matches nothing

    count = bulk.execute_many(
        session.connection(),
        BUMP,
        [{"pid": pid, "seen": s, "v_colour": "red"} for pid, s in zip(people, seen, strict=True)],
    )

    assert count == 2
    stored = session.execute(
        select(HealthCode.person_id, HealthCode.colour, HealthCode.revision)
        .where(HealthCode.person_id.in_(people))
        .order_by(HealthCode.person_id)
    ).all()
    assert [tuple(row) for row in stored] == [
        (people[0], "red", 2),
        (people[1], "red", 2),
        (people[2], "green", 1),
    ]


def test_nothing_to_write_runs_nothing(session: Session) -> None:
    assert bulk.execute_many(session.connection(), BUMP, []) == 0
