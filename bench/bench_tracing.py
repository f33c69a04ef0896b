"""Contact finding at scale: the binned co-presence join on DuckDB, PySpark and PostgreSQL.

1. DuckDB: the contacts of 1,000 new positives among 100,000,000 scans (14 days of a city of
   4 million, generated in DuckDB with a skewed venue popularity), binned join vs the plain
   venue-plus-time-range join, both as the one Ibis expression of ``tracing.copresence``.
2. PostgreSQL: one case's contacts among 10,000,000 recent scans through the
   ``(venue_id, scanned_at)`` index (``tracing.service.contacts_for_exposures``), vs the same
   query with index scans switched off.
3. PySpark (local mode): the same expression on the scans written to Parquet (all of them by
   default, or the first ``SPARK_SCANS``); must match DuckDB.

Scale down with environment variables (defaults in brackets):
``FANGKONG_BENCH_TRACING_SCANS`` [100000000], ``..._PERSONS`` [4000000], ``..._VENUES``
[100000], ``..._POSITIVES`` [1000], ``..._PG_SCANS`` [10000000], ``..._SPARK_SCANS``
[100000000]; ``..._SKIP`` = comma-separated parts to skip (duckdb, postgres, spark).
PostgreSQL is reached through ``FANGKONG_BENCH_POSTGRES_ADMIN``
[postgresql://postgres@127.0.0.1:5432/postgres]; a scratch database is created and dropped.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.tracing import copresence, service
from fangkong.tracing.copresence import JoinMethod
from fangkong.tracing.rules import Exposure

DWELL = 1800
DAYS = 14
START = int(datetime(2022, 11, 1, tzinfo=UTC).timestamp())
VAR = Path(__file__).resolve().parents[1] / "var" / "bench" / "tracing"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(f"FANGKONG_BENCH_TRACING_{name}", default))


SCANS = env_int("SCANS", 100_000_000)
PERSONS = env_int("PERSONS", 4_000_000)
VENUES = env_int("VENUES", 100_000)
POSITIVES = env_int("POSITIVES", 1000)
PG_SCANS = env_int("PG_SCANS", 10_000_000)
SPARK_SCANS = env_int("SPARK_SCANS", 100_000_000)
SKIP = {part.strip() for part in os.environ.get("FANGKONG_BENCH_TRACING_SKIP", "").split(",")}
PG_ADMIN = os.environ.get(
    "FANGKONG_BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def generate_sql(rows: int, days: int) -> str:
    """Scans as in performance.md appendix A: a person id spread by a hash, a venue drawn as
    ``V * U^2`` (the lowest ids are the busy markets and stations) and a uniform time."""
    return f"""
        SELECT (hash(i) % {PERSONS})::BIGINT AS person_id,
               floor(pow(random(), 2.0) * {VENUES})::BIGINT AS venue_id,
               ({START} + floor(random() * {days * 86400}))::BIGINT AS ts
        FROM range({rows}) t(i)
    """


def timed(work: Any, repeats: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``repeats`` runs, and the last result."""
    return timed_with_cpu(work, repeats)[::2]


def timed_with_cpu(work: Any, repeats: int) -> tuple[float, float, Any]:
    """Median wall-clock and median CPU seconds (all threads of this process) of ``repeats``
    runs, and the last result. On a shared machine the wall clock also counts the time other
    processes held the cores; the CPU time does not, so CPU seconds / threads estimates the
    wall time on an idle machine."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def sorted_contacts(table: pa.Table) -> pa.Table:
    return table.select(list(copresence.CONTACT_COLUMNS)).sort_by(
        [(name, "ascending") for name in copresence.CONTACT_COLUMNS]
    )


def bench_duckdb() -> dict[str, Any]:
    backend = copresence.connect_duckdb(threads=2)
    started = time.perf_counter()
    backend.raw_sql(f"CREATE TABLE scans AS {generate_sql(SCANS, DAYS)}")
    # The cases' own scans are their exposure windows (arrival time; the dwell widens them).
    backend.raw_sql(
        f"""CREATE TABLE exposures AS SELECT person_id AS case_person_id, venue_id,
            ts AS start_ts, ts AS end_ts FROM scans WHERE person_id < {POSITIVES}"""
    )
    print(f"generated {SCANS:,} scans in {time.perf_counter() - started:.1f} s", flush=True)
    scans, exposures = backend.table("scans"), backend.table("exposures")
    fan_out = copresence.bins_spanned(backend, exposures, dwell_seconds=DWELL, bin_seconds=DWELL)
    figures: dict[str, Any] = {"exposure windows": exposures.count().execute()}
    results = {}
    for method in (JoinMethod.BINNED, JoinMethod.BAND):
        expr = copresence.contacts_expr(
            scans, exposures, dwell_seconds=DWELL, method=method, fan_out=fan_out
        )
        seconds, cpu, result = timed_with_cpu(lambda expr=expr: backend.to_pyarrow(expr), 3)
        figures[f"{method} s"] = seconds
        figures[f"{method} cpu s"] = cpu
        results[method] = sorted_contacts(result)
        print(
            f"duckdb {method}: {seconds:.2f} s wall, {cpu:.2f} s CPU, "
            f"{result.num_rows:,} contacts, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    figures["contacts"] = results[JoinMethod.BINNED].num_rows
    figures["identical"] = results[JoinMethod.BINNED].equals(results[JoinMethod.BAND])
    figures["ratio"] = figures["band s"] / figures["binned s"]
    figures["cpu ratio"] = figures["band cpu s"] / figures["binned cpu s"]
    if "spark" not in SKIP:
        VAR.mkdir(parents=True, exist_ok=True)
        # Every generated row is independently random, so the first rows are a fair sample.
        backend.raw_sql(
            f"COPY (SELECT * FROM scans LIMIT {SPARK_SCANS}) "
            f"TO '{VAR / 'scans.parquet'}' (FORMAT parquet)"
        )
        backend.raw_sql(
            f"COPY (SELECT * FROM exposures) TO '{VAR / 'exposures.parquet'}' (FORMAT parquet)"
        )
    backend.disconnect()
    return figures


def bench_spark() -> dict[str, Any]:
    from pyspark.sql import SparkSession

    duck = copresence.connect_duckdb(threads=2)
    scans_path, exposures_path = str(VAR / "scans.parquet"), str(VAR / "exposures.parquet")
    expected = sorted_contacts(
        duck.to_pyarrow(
            copresence.contacts_expr(
                duck.read_parquet(scans_path),
                duck.read_parquet(exposures_path),
                dwell_seconds=DWELL,
                fan_out=3,
            )
        )
    )
    started = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("fangkong-bench")
        .config("spark.driver.memory", "8g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    backend = copresence.connect_pyspark(spark)
    startup = time.perf_counter() - started
    scans = backend.read_parquet(scans_path)
    exposures = backend.read_parquet(exposures_path)
    expr = copresence.contacts_expr(scans, exposures, dwell_seconds=DWELL, fan_out=3)
    seconds, result = timed(lambda: backend.to_pyarrow(expr), 1)
    spark.stop()
    got = sorted_contacts(result.cast(expected.schema))
    print(f"spark: {seconds:.1f} s for {SPARK_SCANS:,} scans (start-up {startup:.1f} s)")
    return {
        "s": seconds,
        "startup s": startup,
        "contacts": got.num_rows,
        "identical": got.equals(expected),
    }


def bench_postgres() -> dict[str, Any]:
    name = f"fangkong_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    try:
        return _bench_postgres(url)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bench_postgres(url: str) -> dict[str, Any]:
    migrate.upgrade(url)
    engine = create_db_engine(url)
    days = 2  # recent data: 10 M scans are about a day and a half of the city
    started = time.perf_counter()
    with engine.begin() as conn:
        # Loading without the indexes and building them afterwards is how a bulk load is done.
        for index in ("ix_place_scan_venue_time", "ix_place_scan_person_time"):
            conn.execute(text(f"DROP INDEX {index}"))
        conn.execute(
            text(
                f"""INSERT INTO place_scan (person_id, venue_id, scanned_at, source, received_at)
                SELECT (random() * {PERSONS})::int, floor(pow(random(), 2.0) * {VENUES})::int,
                       to_timestamp({START} + floor(random() * {days * 86400})), 'app', now()
                FROM generate_series(1, {PG_SCANS})"""
            )
        )
        conn.execute(
            text("CREATE INDEX ix_place_scan_venue_time ON place_scan (venue_id, scanned_at)")
        )
        conn.execute(
            text("CREATE INDEX ix_place_scan_person_time ON place_scan (person_id, scanned_at)")
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE place_scan"))
    print(f"loaded {PG_SCANS:,} scans into PostgreSQL in {time.perf_counter() - started:.1f} s")
    # One case: twelve visits over the two days, to busy and quiet venues, an hour each.
    first = datetime.fromtimestamp(START, UTC)
    exposures = [
        Exposure(1, venue, first + timedelta(hours=3 + 4 * n), first + timedelta(hours=4 + 4 * n))
        for n, venue in enumerate([0, 3, 17, 250, 1200, 5000, 9, 40, 800, 20000, 60000, 2])
    ]
    with Session(engine) as session:
        cold, contacts = timed(
            lambda: service.contacts_for_exposures(session=session, exposures=exposures), 1
        )
        warm, _ = timed(
            lambda: service.contacts_for_exposures(session=session, exposures=exposures), 5
        )
        session.execute(text("SET enable_indexscan = off"))
        session.execute(text("SET enable_bitmapscan = off"))
        without_index, same = timed(
            lambda: service.contacts_for_exposures(session=session, exposures=exposures), 1
        )
    engine.dispose()
    print(
        f"postgres one case: cold {cold * 1000:.0f} ms, warm {warm * 1000:.1f} ms, "
        f"{len(contacts)} contacts; without the index {without_index:.2f} s"
    )
    return {
        "cold s": cold,
        "warm s": warm,
        "no index s": without_index,
        "contacts": len(contacts),
        "identical": contacts == same,
        "ratio": without_index / warm,
    }


def main() -> int:
    print(
        f"scans {SCANS:,}, persons {PERSONS:,}, venues {VENUES:,}, positives {POSITIVES:,}, "
        f"dwell {DWELL} s, 2 DuckDB threads",
        flush=True,
    )
    failures = 0
    try:
        if "duckdb" not in SKIP:
            duck = bench_duckdb()
            print(f"DUCKDB {duck}", flush=True)
            failures += not duck["identical"]
            if SCANS >= 100_000_000:
                # Judged on the idle-machine estimate: the wall clock of a shared box is noise.
                failures += duck["binned cpu s"] / 2 > 3.0
        if "postgres" not in SKIP:
            pg = bench_postgres()
            print(f"POSTGRES {pg}", flush=True)
            failures += not pg["identical"]
            if PG_SCANS >= 10_000_000:
                failures += pg["cold s"] > 1.0
        # Spark last: it is by far the slowest part.
        if "spark" not in SKIP and "duckdb" not in SKIP:
            spark = bench_spark()
            print(f"SPARK {spark}")
            failures += not spark["identical"]
    finally:
        shutil.rmtree(VAR, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
