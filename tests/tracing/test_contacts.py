from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.tracing import copresence, service
from fangkong.tracing.models import PlaceScan
from fangkong.tracing.rules import Contact, Exposure, epoch_seconds
from tests.tracing.places import NOW, make_places, synthetic_scans


def test_it_finds_one_cases_contacts_on_the_index_as_the_ibis_join_does(
    session: Session,
) -> None:
    places = make_places(session, people=40)
    venues = [places.market, places.clinic]
    person, venue, ts = synthetic_scans(scans=600, persons=40, venues=2, days=1)
    scans = [
        {
            "person_id": places.persons[int(p) - 1],
            "venue_id": venues[int(v) - 1],
            "scanned_at": datetime.fromtimestamp(int(t), UTC),
        }
        for p, v, t in zip(person, venue, ts, strict=True)
    ]
    with use_clock(ManualClock(NOW)):
        assert service.record_scans(session=session, scans=scans, max_batch=None).rejected == []
    case = places.persons[0]
    exposures = [
        Exposure(case, venue_id, moment, moment + timedelta(minutes=45))
        for venue_id, moment in session.execute(
            select(PlaceScan.venue_id, PlaceScan.scanned_at).where(PlaceScan.person_id == case)
        ).tuples()
    ]
    on_index = service.contacts_for_exposures(session=session, exposures=exposures)

    stored = session.execute(
        select(PlaceScan.person_id, PlaceScan.venue_id, PlaceScan.scanned_at)
    ).all()
    table = pa.table(
        {
            "person_id": [row[0] for row in stored],
            "venue_id": [row[1] for row in stored],
            "ts": [epoch_seconds(row[2]) for row in stored],
        },
        schema=copresence.SCAN_SCHEMA,
    )
    backend = copresence.connect_duckdb()
    on_duckdb = copresence.find_contacts(
        backend=backend,
        scans=backend.create_table("scans", table, overwrite=True),
        exposures=exposures,
    )
    assert len(exposures) > 5
    assert len(on_index) > 10
    assert on_index == on_duckdb


def test_it_reports_overlap_and_evidence_for_a_contact_found_on_the_index(
    session: Session,
) -> None:
    places = make_places(session, people=2)
    case, neighbour = places.persons
    arrived = NOW - timedelta(hours=3)
    with use_clock(ManualClock(NOW)):
        service.record_scans(
            session=session,
            scans=[
                {"person_id": case, "venue_id": places.market, "scanned_at": arrived},
                {
                    "person_id": neighbour,
                    "venue_id": places.market,
                    "scanned_at": arrived + timedelta(minutes=10),
                },
            ],
        )
    contacts = service.contacts_for_exposures(
        session=session,
        exposures=[Exposure(case, places.market, arrived, arrived + timedelta(minutes=15))],
    )
    later = epoch_seconds(arrived + timedelta(minutes=10))
    # The neighbour is presumed there 30 min from 10 min after the case, who is presumed there
    # until 30 min after the window's end: 30 minutes together.
    assert contacts == [Contact(neighbour, case, places.market, later, 1800, 1, later, later)]
