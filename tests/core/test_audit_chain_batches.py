"""The audit chain written in batches: the cached head, ``record_many``, rollbacks, and two
transactions appending at once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.audit import AuditEvent, Entry
from fangkong.core.scope import Actor
from fangkong.db import migrate
from fangkong.db.session import create_db_engine

ACTOR = Actor(user_id=7, username="officer", role="district_officer", permissions=frozenset())
AT = datetime(2022, 11, 12, 8, tzinfo=UTC)


def _one(session: Session, n: int) -> AuditEvent:
    return audit.record(
        session=session, actor=ACTOR, action="x.one", subject_type="t", subject_id=n
    )


def _entries(*numbers: int) -> list[Entry]:
    return [
        Entry.of(
            actor=None,
            action="x.many",
            subject_type="t",
            subject_id=n,
            occurred_at=AT,
            after={"n": n},
            rule_ref=f"pack@1#rule-{n}",
        )
        for n in numbers
    ]


def _chain(session: Session, subject_type: str = "t") -> list[tuple[str, str, str, str]]:
    stmt = (
        select(
            AuditEvent.subject_id, AuditEvent.action, AuditEvent.prev_hash, AuditEvent.entry_hash
        )
        .where(AuditEvent.subject_type == subject_type)
        .order_by(AuditEvent.id)
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def _assert_linked(rows: list[tuple[str, str, str, str]]) -> None:
    for before, after in itertools.pairwise(rows):
        assert after[2] == before[3]


def test_record_and_record_many_mixed_chain_in_id_order(session: Session) -> None:
    _one(session, 1)
    assert audit.record_many(session=session, entries=_entries(2, 3, 4)) == 3
    _one(session, 5)
    _one(session, 6)
    assert audit.record_many(session=session, entries=_entries(7)) == 1
    session.commit()
    rows = _chain(session)
    assert [(r[0], r[1]) for r in rows] == [
        ("1", "x.one"),
        ("2", "x.many"),
        ("3", "x.many"),
        ("4", "x.many"),
        ("5", "x.one"),
        ("6", "x.one"),
        ("7", "x.many"),
    ]
    _assert_linked(rows)
    assert audit.verify_chain(session=session).is_intact


def test_record_many_keeps_the_system_rule_and_timezone_guards() -> None:
    with pytest.raises(ValueError, match="must cite the rule"):
        Entry.of(actor=None, action="x", subject_type="t", subject_id=1, occurred_at=AT)
    with pytest.raises(ValueError, match="naive datetime refused"):
        Entry.of(
            actor=ACTOR,
            action="x",
            subject_type="t",
            subject_id=1,
            occurred_at=datetime(2022, 11, 12),  # noqa: DTZ001
        )


def test_record_many_stores_the_fields_it_hashes(session: Session) -> None:
    [entry] = _entries(9)
    audit.record_many(session=session, entries=[entry])
    [event] = audit.events_for(session=session, subject_type="t", subject_id=9)
    assert (event.actor_label, event.action, event.after, event.rule_ref, event.occurred_at) == (
        "system",
        "x.many",
        {"n": 9},
        "pack@1#rule-9",
        AT,
    )
    assert event.entry_hash == audit.content_hash(event, event.prev_hash)


def test_a_rolled_back_savepoint_leaves_no_dangling_head(session: Session) -> None:
    _one(session, 1)
    savepoint = session.begin_nested()
    _one(session, 2)
    audit.record_many(session=session, entries=_entries(3, 4))
    savepoint.rollback()
    _one(session, 5)
    audit.record_many(session=session, entries=_entries(6))
    savepoint = session.begin_nested()
    audit.record_many(session=session, entries=_entries(7))
    savepoint.rollback()
    _one(session, 8)
    session.commit()
    rows = _chain(session)
    assert [r[0] for r in rows] == ["1", "5", "6", "8"]
    _assert_linked(rows)
    assert audit.verify_chain(session=session).is_intact


def test_a_rolled_back_transaction_drops_the_cached_head(session: Session) -> None:
    _one(session, 1)
    session.commit()
    _one(session, 2)
    assert audit.HEAD_KEY in session.info
    session.rollback()
    assert audit.HEAD_KEY not in session.info
    _one(session, 3)
    session.commit()
    assert [r[0] for r in _chain(session)] == ["1", "3"]
    assert audit.verify_chain(session=session).is_intact


def _own_engine(backend: str, fresh_database_url: object) -> Iterator[Engine]:
    """A database of its own: these tests commit from two connections."""
    url: str = fresh_database_url(backend)  # type: ignore[operator]
    migrate.upgrade(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(fresh_database_url: object) -> Iterator[Engine]:
    yield from _own_engine("postgresql", fresh_database_url)


@pytest.fixture
def sqlite_engine(fresh_database_url: object) -> Iterator[Engine]:
    yield from _own_engine("sqlite", fresh_database_url)


def test_two_postgresql_transactions_append_one_after_the_other(
    postgres_engine: Engine,
) -> None:
    own_engine = postgres_engine
    first, second = Session(own_engine), Session(own_engine)
    _one(first, 1)  # takes the append lock and caches the head
    second_done = threading.Event()

    def append_second() -> None:
        audit.record_many(session=second, entries=_entries(2, 3))  # waits for the lock
        _one(second, 4)
        second.commit()
        second_done.set()

    thread = threading.Thread(target=append_second)
    thread.start()
    assert not second_done.wait(0.5)  # blocked behind the first transaction's lock
    audit.record_many(session=first, entries=_entries(5))
    _one(first, 6)
    first.commit()
    thread.join(10)
    assert second_done.is_set()
    with Session(own_engine) as reader:
        rows = _chain(reader)
        assert [r[0] for r in rows] == ["1", "5", "6", "2", "3", "4"]
        _assert_linked(rows)
        assert audit.verify_chain(session=reader).is_intact
    first.close()
    second.close()


def test_a_second_sqlite_writer_on_a_stale_head_is_refused(sqlite_engine: Engine) -> None:
    own_engine = sqlite_engine
    first, second = Session(own_engine), Session(own_engine)
    _one(first, 1)
    first.commit()
    _one(first, 2)  # reads and caches the head, inside its own snapshot
    audit.record_many(session=second, entries=_entries(3))
    second.commit()
    with pytest.raises(OperationalError):
        first.flush()
    first.rollback()
    _one(first, 4)
    first.commit()
    with Session(own_engine) as reader:
        rows = _chain(reader)
        assert [r[0] for r in rows] == ["1", "3", "4"]
        _assert_linked(rows)
        assert audit.verify_chain(session=reader).is_intact
        assert reader.scalar(select(func.count()).select_from(AuditEvent)) == 3
    first.close()
    second.close()


def test_an_event_recorded_with_another_offset_verifies_when_read_back(session: Session) -> None:
    beijing = timezone(timedelta(hours=8))
    audit.record(
        session=session,
        actor=ACTOR,
        action="x.offset",
        subject_type="t",
        subject_id=1,
        occurred_at=datetime(2022, 11, 12, 16, tzinfo=beijing),
    )
    audit.record_many(
        session=session,
        entries=[
            Entry.of(
                actor=ACTOR,
                action="x.offset",
                subject_type="t",
                subject_id=2,
                occurred_at=datetime(2022, 11, 12, 17, tzinfo=beijing),
            )
        ],
    )
    session.flush()
    session.expunge_all()
    assert audit.verify_chain(session=session).is_intact
