"""Two investigations finding the same person at the same moment, on PostgreSQL with two real
sessions: the second one's insert waits on the first one's unique ``active_person_id``, fails
once the first commits, and merges into its row; and the migration folds contacts found twice
before this model into one. Both need committed data, so each test has a database of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.core.clock import ManualClock, use_clock
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.registry import service as registry_service
from fangkong.tracing import actions, service
from fangkong.tracing.models import Case, Contact, ContactLink, Investigation
from tests import places
from tests.tracing.test_contact_merge import CLINIC, VISIT
from tests.tracing.world import LUSONG_PATH, NOW, build, open_case

OLD_REVISION = "1eb21f6805d9"  # before one live contact per person


def _database(make: Callable[[str], str], backend: str, revision: str = "head") -> Iterator[Engine]:
    url = make(backend)
    migrate.upgrade(url, revision)
    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(fresh_database_url: Callable[[str], str]) -> Iterator[Engine]:
    yield from _database(fresh_database_url, "postgresql")


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as probe:
        waiting = probe.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def test_two_investigations_at_the_same_moment_make_one_contact(pg_engine: Engine) -> None:
    factory = sessionmaker(bind=pg_engine, expire_on_commit=False)
    with factory() as setup:
        registry_service.load_divisions(session=setup)
        world = build(setup)
        second_person = places.person(setup, "陈病例", area_path=LUSONG_PATH)
        with use_clock(ManualClock(NOW)):
            service.record_scans(
                session=setup,
                scans=[
                    {
                        "person_id": second_person.id,
                        "venue_id": world.clinic.id,
                        "scanned_at": CLINIC,
                    },
                    {
                        "person_id": world.shopper.id,
                        "venue_id": world.clinic.id,
                        "scanned_at": CLINIC + timedelta(minutes=5),
                    },
                ],
            )
        investigations = []
        for person in (world.case_person, second_person):
            case = open_case(setup, None, person)
            investigation = service.investigation_of_case(session=setup, case_id=case.id)
            assert investigation is not None
            investigations.append(investigation.id)
        setup.commit()
    first_id, second_id = investigations

    failures: list[BaseException] = []

    def second_investigation() -> None:
        try:
            with factory() as other, use_clock(ManualClock(NOW)):
                actions.find_contacts(session=other, actor=None, investigation_id=second_id)
                other.commit()
        except BaseException as error:  # reported to the test thread below
            failures.append(error)

    with factory() as first, use_clock(ManualClock(NOW)):
        actions.find_contacts(session=first, actor=None, investigation_id=first_id)
        # The first investigation holds the shopper's new live contact, uncommitted; the
        # second one now tries to insert the same person's and must wait for it.
        racer = threading.Thread(target=second_investigation)
        racer.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(pg_engine):
            assert racer.is_alive() and time.monotonic() < deadline, failures
            time.sleep(0.05)
        first.commit()
    racer.join(timeout=60)
    assert not racer.is_alive()
    assert failures == []

    with factory() as check:
        rows = check.scalars(select(Contact).where(Contact.person_id == world.shopper.id)).all()
        assert len(rows) == 1
        [shopper] = rows
        links = check.execute(
            select(ContactLink.investigation_id, ContactLink.last_exposure_at)
            .where(ContactLink.contact_id == shopper.id)
            .order_by(ContactLink.investigation_id)
        ).all()
        assert [tuple(link) for link in links] == [
            (first_id, VISIT + timedelta(minutes=10)),
            (second_id, CLINIC + timedelta(minutes=5)),
        ]
        assert (shopper.status, shopper.last_exposure_at) == (
            "identified",
            CLINIC + timedelta(minutes=5),
        )
        spouses = check.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.person_id == world.shopper_spouse.id)
        )
        assert spouses == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_folds_contacts_found_twice_into_one(
    fresh_database_url: Callable[[str], str], backend: str
) -> None:
    engines = _database(fresh_database_url, backend, OLD_REVISION)
    engine = next(engines)
    url = engine.url.render_as_string(hide_password=False)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    first_exposure = datetime(2022, 11, 7, 5, 40, tzinfo=UTC)
    later_exposure = datetime(2022, 11, 7, 10, 35, tzinfo=UTC)
    with factory() as setup:
        registry_service.load_divisions(session=setup)
        world = build(setup)
        # the schema of the old revision: cases and investigations stored as they were
        cases, investigations = [], []
        for person in (world.case_person, world.neighbour):
            case = Case(
                person_id=person.id,
                active_person_id=person.id,
                area_path=person.area_path,
                kind="asymptomatic",
                status="reported",
                detection_route="other",
                reported_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
            setup.add(case)
            setup.flush()
            investigation = Investigation(
                case_id=case.id,
                area_path=case.area_path,
                status="confirmed",
                window_start=NOW - timedelta(days=3),
                window_end=NOW,
                due_at=NOW,
                pack_id="cn-9",
                pack_version=1,
                opened_at=NOW,
                updated_at=NOW,
            )
            setup.add(investigation)
            setup.flush()
            cases.append(case)
            investigations.append(investigation)
        contact = Contact.__table__
        ids = []
        for case, investigation, category, exposure, due, status in (
            (
                cases[0],
                investigations[0],
                "secondary_contact",
                first_exposure,
                NOW + timedelta(hours=12),
                "handed_over",
            ),
            (
                cases[1],
                investigations[1],
                "close_contact",
                later_exposure,
                NOW + timedelta(hours=6),
                "identified",
            ),
        ):
            assert investigation is not None
            values = {
                "investigation_id": investigation.id,
                "case_id": case.id,
                "person_id": world.shopper.id,
                "area_path": world.shopper.area_path,
                "category": category,
                "status": status,
                "rule_ref": f"cn-9@1#{category}",
                "last_exposure_at": exposure,
                "due_at": due,
                "identified_at": NOW,
                "updated_at": NOW,
                "isolation_ref": "order:7" if status == "handed_over" else None,
            }
            ids.append(
                setup.execute(insert(contact).values(**values).returning(contact.c.id)).scalar_one()
            )
        setup.commit()
    engine.dispose()
    migrate.upgrade(url)
    with Session(create_db_engine(url)) as check:
        rows = check.scalars(
            select(Contact).where(Contact.person_id == world.shopper.id).order_by(Contact.id)
        ).all()
        kept, merged = rows
        assert kept.id == ids[0] and merged.id == ids[1]
        assert (kept.status, kept.category, kept.isolation_ref, kept.active_person_id) == (
            "handed_over",
            "close_contact",
            "order:7",
            world.shopper.id,
        )
        assert (kept.last_exposure_at, kept.due_at) == (later_exposure, NOW + timedelta(hours=6))
        assert (merged.status, merged.closed_reason, merged.active_person_id) == (
            "closed",
            "merged",
            None,
        )
        links = check.execute(
            select(ContactLink.contact_id, ContactLink.case_id, ContactLink.status).order_by(
                ContactLink.id
            )
        ).all()
        assert [tuple(link) for link in links] == [
            (kept.id, cases[0].id, "active"),
            (kept.id, cases[1].id, "active"),
        ]
    for _ in engines:
        pass
