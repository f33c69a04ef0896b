"""The migration that adds ``tracing_case.outcome_at`` dates the cases already discharged or
dead by their status change in the audit trail, or by their last change when the trail has
none; on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, String, column, insert, select, table
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.db import migrate
from fangkong.db.base import UTCDateTime
from fangkong.db.session import create_db_engine
from fangkong.registry import service as registry_service
from tests import places
from tests.command.outbreak import LUSONG_PATH

BEFORE = "ba3307f39f2d"  # the revision before outcome_at
T0 = datetime(2022, 11, 10, 2, 0, tzinfo=UTC)
T1 = datetime(2022, 11, 11, 2, 0, tzinfo=UTC)
EDITED = datetime(2022, 11, 14, 2, 0, tzinfo=UTC)
BULK = datetime(2022, 11, 12, 9, 0, tzinfo=UTC)


CASE = table(
    "tracing_case",
    column("id", Integer),
    column("person_id", Integer),
    column("active_person_id", Integer),
    column("area_path", String),
    column("kind", String),
    column("status", String),
    column("detection_route", String),
    column("reported_at", UTCDateTime()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("outcome_at", UTCDateTime()),
)


def _case(session: Session, person_id: int, status: str, updated: datetime) -> int:
    return int(
        session.execute(
            insert(CASE)
            .values(
                person_id=person_id,
                active_person_id=person_id,
                area_path=LUSONG_PATH,
                kind="confirmed",
                status=status,
                detection_route="mass_round",
                reported_at=T0,
                created_at=T0,
                updated_at=updated,
            )
            .returning(CASE.c.id)
        ).scalar_one()
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_it_back_fills_the_outcome_time_from_the_audit_trail(
    backend: str, fresh_database_url: Callable[[str], str]
) -> None:
    url = fresh_database_url(backend)
    migrate.upgrade(url, BEFORE)
    engine = create_db_engine(url)
    with Session(engine) as session:
        registry_service.load_divisions(session=session)
        people = [places.person(session, f"张{n}", area_path=LUSONG_PATH) for n in "甲乙丙"]
        cured = _case(session, people[0].id, "discharged", EDITED)
        died = _case(session, people[1].id, "died", BULK)
        treated = _case(session, people[2].id, "in_hospital", T1)
        for moment, status in ((T0, "in_hospital"), (T1, "discharged")):
            audit.record(
                session=session,
                actor=None,
                action="tracing.case.status_changed",
                subject_type="tracing_case",
                subject_id=cured,
                after={"status": status},
                rule_ref="test",
                occurred_at=moment,
            )
        session.commit()
    migrate.upgrade(url)
    with Session(engine) as session:
        read = dict(
            (row[0], row[1]) for row in session.execute(select(CASE.c.id, CASE.c.outcome_at))
        )
    engine.dispose()
    assert read == {cured: T1, died: BULK, treated: None}
