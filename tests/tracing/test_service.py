from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.tracing import service
from fangkong.tracing.enums import ScanSource
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import PlaceScan
from tests.tracing.places import NOW, make_places


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PlaceScan)) or 0


def test_it_stores_good_scans_and_reports_each_bad_one(session: Session) -> None:
    places = make_places(session)
    alice, bob = places.persons[:2]
    good = {
        "person_id": alice,
        "venue_id": places.market,
        "scanned_at": "2022-11-09T19:30:00+08:00",
    }
    scans = [
        good,
        {"person_id": "x", "venue_id": places.market, "scanned_at": "2022-11-09T11:00:00Z"},
        {"person_id": bob, "venue_id": places.market, "scanned_at": "yesterday"},
        {"person_id": bob, "venue_id": places.market, "scanned_at": "2022-11-09T11:00:00"},
        {"person_id": bob, "venue_id": places.market, "scanned_at": "2022-11-09T12:06:00Z"},
        {"person_id": 999_999, "venue_id": places.market, "scanned_at": "2022-11-09T11:00:00Z"},
        {"person_id": bob, "venue_id": 999_999, "scanned_at": "2022-11-09T11:00:00Z"},
        {"person_id": bob, "venue_id": places.clinic, "scanned_at": "2022-11-09T12:04:00Z"},
        {
            "person_id": bob,
            "venue_id": places.clinic,
            "scanned_at": "2022-11-09T11:00:00Z",
            "source": "fax",
        },
        "not an object",
    ]
    with use_clock(ManualClock(NOW)):
        result = service.record_scans(session=session, scans=scans)
    assert result.stored == 2
    assert [(p.index, p.code, p.field) for p in result.rejected] == [
        (1, TracingErrorCode.SCAN_MALFORMED, "person_id"),
        (2, TracingErrorCode.SCAN_MALFORMED, "scanned_at"),
        (3, TracingErrorCode.SCAN_TIME_NAIVE, "scanned_at"),
        (4, TracingErrorCode.SCAN_IN_FUTURE, "scanned_at"),
        (5, TracingErrorCode.SCAN_UNKNOWN_PERSON, "person_id"),
        (6, TracingErrorCode.SCAN_UNKNOWN_VENUE, "venue_id"),
        (8, TracingErrorCode.SCAN_MALFORMED, "source"),
        (9, TracingErrorCode.SCAN_MALFORMED, None),
    ]
    stored = session.execute(
        select(
            PlaceScan.person_id, PlaceScan.venue_id, PlaceScan.scanned_at, PlaceScan.source
        ).order_by(PlaceScan.scanned_at)
    ).all()
    assert [tuple(row) for row in stored] == [
        (alice, places.market, NOW - timedelta(minutes=30), "app"),
        (bob, places.clinic, NOW + timedelta(minutes=4), "app"),
    ]


def test_it_refuses_an_empty_or_oversized_batch_whole(session: Session) -> None:
    places = make_places(session, people=1)
    scan = {"person_id": places.persons[0], "venue_id": places.market, "scanned_at": NOW}
    with pytest.raises(FangkongError) as empty:
        service.record_scans(session=session, scans=[])
    with pytest.raises(FangkongError) as oversized:
        service.record_scans(session=session, scans=[scan] * 3, max_batch=2)
    assert (empty.value.code, oversized.value.code, oversized.value.status) == (
        TracingErrorCode.SCANS_BATCH_EMPTY,
        TracingErrorCode.SCANS_BATCH_TOO_LARGE,
        413,
    )
    assert _count(session) == 0


def test_it_keeps_scan_times_to_whole_seconds_in_utc(session: Session) -> None:
    places = make_places(session, people=1)
    scan = {
        "person_id": places.persons[0],
        "venue_id": places.market,
        "scanned_at": "2022-11-09T19:59:59.750+08:00",
    }
    with use_clock(ManualClock(NOW)):
        service.record_scans(session=session, scans=[scan])
    assert session.scalar(select(PlaceScan.scanned_at)) == NOW - timedelta(seconds=1)


def test_it_imports_a_csv_scan_log_and_reports_bad_rows(session: Session, tmp_path: Path) -> None:
    places = make_places(session, people=2)
    log = tmp_path / "market.csv"
    log.write_text(
        "person_id,venue_id,scanned_at\n"
        f"{places.persons[0]},{places.market},2022-11-09T10:00:00+00:00\n"
        f"{places.persons[1]},{places.market},not a time\n"
        f"{places.persons[1]},{places.clinic},2022-11-09T10:05:00+00:00\n",
        encoding="utf-8",
    )
    with use_clock(ManualClock(NOW)):
        result = service.import_scans(session=session, path=log, actor=None)
    assert (result.stored, [(p.index, p.code) for p in result.rejected]) == (
        2,
        [(1, TracingErrorCode.SCAN_MALFORMED)],
    )
    assert set(session.scalars(select(PlaceScan.source))) == {str(ScanSource.IMPORT)}
    [event] = audit.events_for(session=session, subject_type="scan_log", subject_id="market.csv")
    assert event.after == {"stored": 2, "rejected": 1}


def test_it_imports_a_parquet_scan_log(session: Session, tmp_path: Path) -> None:
    places = make_places(session, people=2)
    log = tmp_path / "gateway.parquet"
    times = [NOW - timedelta(hours=2), NOW - timedelta(hours=1)]
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array(places.persons, pa.int64()),
                "venue_id": pa.array([places.clinic, 999_999], pa.int64()),
                "scanned_at": pa.array(times, pa.timestamp("s", tz="UTC")),
            }
        ),
        log,
    )
    with use_clock(ManualClock(NOW)):
        result = service.import_scans(session=session, path=log, actor=None)
    assert (result.stored, [(p.index, p.code) for p in result.rejected]) == (
        1,
        [(1, TracingErrorCode.SCAN_UNKNOWN_VENUE)],
    )
    assert session.scalar(select(PlaceScan.scanned_at)) == times[0]


def test_it_refuses_an_import_without_the_required_columns(
    session: Session, tmp_path: Path
) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("person,venue\n1,2\n", encoding="utf-8")
    other = tmp_path / "scans.xlsx"
    other.write_bytes(b"")
    with pytest.raises(FangkongError) as missing:
        service.import_scans(session=session, path=log, actor=None)
    with pytest.raises(FangkongError) as unknown:
        service.import_scans(session=session, path=other, actor=None)
    assert (missing.value.code, unknown.value.code) == (
        TracingErrorCode.IMPORT_COLUMNS_MISSING,
        TracingErrorCode.IMPORT_FORMAT_UNKNOWN,
    )
    assert _count(session) == 0


def test_it_purges_scans_past_retention_in_batches(session: Session) -> None:
    places = make_places(session, people=1)
    person = places.persons[0]
    ages = [timedelta(days=20), timedelta(days=15), timedelta(days=14, hours=1), timedelta(days=3)]
    with use_clock(ManualClock(NOW)):
        service.record_scans(
            session=session,
            scans=[
                {"person_id": person, "venue_id": places.market, "scanned_at": NOW - age}
                for age in ages
            ],
        )
        deleted = service.purge_expired_scans(session=session, retention_days=14, batch_size=2)
    assert deleted == 3
    assert list(session.scalars(select(PlaceScan.scanned_at))) == [NOW - timedelta(days=3)]
    [event] = audit.events_for(session=session, subject_type="place_scan", subject_id="retention")
    assert (event.after or {})["deleted"] == 3


def test_it_refuses_a_retention_below_one_day(session: Session) -> None:
    with pytest.raises(FangkongError) as refused:
        service.purge_expired_scans(session=session, retention_days=0)
    assert refused.value.code == TracingErrorCode.RETENTION_INVALID
