from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from fangkong.core.errors import FangkongError
from fangkong.tracing import copresence
from fangkong.tracing.copresence import JoinMethod
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.rules import Contact, Exposure
from tests.tracing.places import synthetic_scans

T0 = datetime(2022, 11, 9, 10, 0, tzinfo=UTC)
S0 = int(T0.timestamp())
MARKET, CLINIC = 1, 2
CASE = 100


def _scans(rows: list[tuple[int, int, int]]) -> pa.Table:
    person, venue, ts = zip(*rows, strict=True)
    return pa.table(
        {"person_id": list(person), "venue_id": list(venue), "ts": list(ts)},
        schema=copresence.SCAN_SCHEMA,
    )


def _run(scans: pa.Table, exposures: list[Exposure], method: JoinMethod) -> list[Contact]:
    backend = copresence.connect_duckdb(threads=2)
    table = backend.create_table("scans", scans, overwrite=True)
    return copresence.find_contacts(
        backend=backend, scans=table, exposures=exposures, dwell_seconds=1800, method=method
    )


@pytest.mark.parametrize("method", list(JoinMethod))
def test_it_finds_everyone_within_the_widened_window_and_no_one_else(method: JoinMethod) -> None:
    scans = _scans(
        [
            (CASE, MARKET, S0),  # the case itself is never its own contact
            (1, MARKET, S0 - 1800),  # exactly one dwell before the window: in
            (2, MARKET, S0 - 1801),  # one second earlier: out
            (3, MARKET, S0 + 7200 + 1800),  # one dwell after the window's end: in
            (4, MARKET, S0 + 3600),  # inside the window, twice
            (4, MARKET, S0 + 3900),
            (5, CLINIC, S0 + 3600),  # same time, another venue: out
            (6, MARKET, S0 + 7200 + 1801),  # out
        ]
    )
    # A two-hour window touches five half-hour buckets once widened: every one must be joined.
    exposures = [Exposure(CASE, MARKET, T0, T0 + timedelta(hours=2))]
    assert _run(scans, exposures, method) == [
        Contact(1, CASE, MARKET, S0, 0, 1, S0 - 1800, S0 - 1800),
        Contact(3, CASE, MARKET, S0 + 9000, 0, 1, S0 + 9000, S0 + 9000),
        Contact(4, CASE, MARKET, S0 + 3600, 1800, 2, S0 + 3600, S0 + 3900),
    ]


def test_it_refuses_an_exposure_that_ends_before_it_starts() -> None:
    with pytest.raises(FangkongError) as refused:
        copresence.exposures_table([Exposure(CASE, MARKET, T0, T0 - timedelta(seconds=1))])
    assert refused.value.code == TracingErrorCode.EXPOSURE_INVALID


def _synthetic() -> tuple[pa.Table, list[Exposure]]:
    person, venue, ts = synthetic_scans(scans=60_000, persons=4_000, venues=300)
    scans = pa.table(
        {"person_id": person, "venue_id": venue, "ts": ts}, schema=copresence.SCAN_SCHEMA
    )
    # The cases' own scans are their exposure windows (arrival; a few stayed an hour).
    exposures = [
        Exposure(
            int(p),
            int(v),
            datetime.fromtimestamp(int(t), UTC),
            datetime.fromtimestamp(int(t) + (3600 if i % 3 == 0 else 0), UTC),
        )
        for i, (p, v, t) in enumerate(zip(person, venue, ts, strict=True))
        if p <= 20
    ]
    return scans, exposures


def test_it_gives_the_same_contacts_binned_as_with_the_plain_range_join() -> None:
    scans, exposures = _synthetic()
    binned = _run(scans, exposures, JoinMethod.BINNED)
    assert len(binned) > 1000
    assert binned == _run(scans, exposures, JoinMethod.BAND)


@pytest.mark.spark
def test_it_finds_identical_contacts_on_duckdb_and_pyspark(spark_session: Any) -> None:
    scans, exposures = _synthetic()
    on_duckdb = _run(scans, exposures, JoinMethod.BINNED)
    backend = copresence.connect_pyspark(spark_session)
    table = ibis.memtable(scans)
    on_spark = copresence.find_contacts(
        backend=backend, scans=table, exposures=exposures, dwell_seconds=1800
    )
    assert len(on_duckdb) > 1000
    assert on_spark == on_duckdb
