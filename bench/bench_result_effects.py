"""What a round's results do: ``apply_results`` (set-based) on a whole city's tubes, against a
per-tube ORM loop on a smaller sample in the same run (its time extrapolated, and labelled so).

The city: ``--persons`` residents (default 400,000; ``--persons 4000000`` for the 4 M target),
10 to a tube, every person sampled once; results 1 % positive pools, 0.1 % inconclusive, the
rest negative, stored as ingestion stores them. Timed: from the stored results to every
member's status, every re-sample order and alert written (one ``apply_results`` call and its
commit). Persons are written with the registry's bulk loader.

Run: ``.venv/bin/python bench/bench_result_effects.py [--persons N] [--url postgresql+psycopg://…]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.core.clock import ManualClock, use_clock
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.registry import bulk
from fangkong.testing import effects, summary
from fangkong.testing.models import (
    PersonTestStatus,
    ResampleOrder,
    TestCampaign,
    Tube,
    TubeMember,
    TubeResult,
)
from fangkong.testing.section import DEFAULT_POLICY

T0 = datetime(2022, 11, 10, 0, 0, tzinfo=UTC)
PATH = "/43/4302/430203/430203003/"
POOL = 10
CHUNK = 50_000
TABLES = Tube.metadata.tables


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def write(session: Session, table: str, rows: Iterator[dict[str, Any]]) -> None:
    target: Table = TABLES[table]
    for batch in chunks(rows):
        session.execute(insert(target), batch)


def result_of(tube: int) -> str:
    if tube % 100 == 7:
        return "detected"
    if tube % 1000 == 3:
        return "inconclusive"
    return "not_detected"


def build_city(session: Session, persons: int, *, with_sampled: bool = False) -> int:
    """Persons, one campaign, their tubes and members, and the stored results; returns the
    campaign id. With ``with_sampled``, every member already has the status ``sampled`` that sealing
    the tubes writes (as in a real round), so the results update rows rather than insert them."""
    stamp = bulk.timestamp(session=session, moment=T0)
    area_id = bulk.next_id(session=session, table="area")
    bulk.write_rows(
        session=session,
        table="area",
        rows=[(area_id, f"B{area_id}", "bench", "township", None, PATH)],
    )
    first = bulk.next_id(session=session, table="person")
    bulk.write_rows(
        session=session,
        table="person",
        rows=(
            (first + n, None, PATH, None, None, None, None, f"p{n}", None, None, None, None,
             None, None, 0, "active", None, stamp, stamp)
            for n in range(persons)
        ),
    )  # fmt: skip
    bulk.finish(session=session, tables=["area", "person"])
    campaign = TestCampaign(
        name="bench",
        area_id=area_id,
        area_path=PATH,
        starts_at=T0,
        ends_at=T0 + timedelta(days=1),
        status="open",
        max_pool_size=POOL,
        rule_ref=None,
        created_at=T0,
    )
    session.add(campaign)
    session.flush()
    tubes = (persons + POOL - 1) // POOL
    sampled = T0 + timedelta(hours=1)
    write(
        session,
        "tube",
        (
            {
                "id": t + 1,
                "barcode": f"ZZB{t:09d}",
                "campaign_id": campaign.id,
                "area_path": PATH,
                "pool_size": POOL,
                "member_count": min(POOL, persons - t * POOL),
                "status": "sealed",
                "opened_at": sampled,
                "sealed_at": sampled,
            }
            for t in range(tubes)
        ),
    )
    write(
        session,
        "tube_member",
        (
            {"tube_id": n // POOL + 1, "person_id": first + n, "sampled_at": sampled}
            for n in range(persons)
        ),
    )
    if with_sampled:
        session.execute(
            text(
                "INSERT INTO person_test_status (person_id, campaign_id, status, tube_id, "
                "last_sampled_at, updated_at) SELECT m.person_id, t.campaign_id, 'sampled', "
                "m.tube_id, m.sampled_at, m.sampled_at FROM tube_member m "
                "JOIN tube t ON t.id = m.tube_id ORDER BY m.person_id"
            )
        )
    session.execute(
        text(
            "INSERT INTO result_upload (content_sha256, format, filename, uploaded_at, "
            "accepted_count, stored_count, duplicate_count, unmatched_count, rejected_count, "
            "rejections) VALUES (:sha, 'hl7v2', 'bench', :at, 0, 0, 0, 0, 0, '[]')"
        ),
        {"sha": "b" * 64, "at": stamp},
    )
    upload_id = session.scalar(text("SELECT max(id) FROM result_upload"))
    reported = T0 + timedelta(hours=6)
    write(
        session,
        "lab_result",
        (
            {
                "idempotency_key": f"lab|m{t}|ZZB{t:09d}",
                "upload_id": upload_id,
                "tube_id": t + 1,
                "tube_barcode": f"ZZB{t:09d}",
                "lab_id": "lab",
                "message_id": f"m{t}",
                "result": result_of(t),
                "loinc_code": "94500-6",
                "ct_values": {},
                "collected_at": sampled,
                "received_at": None,
                "reported_at": reported,
                "stored_at": reported,
            }
            for t in range(tubes)
        ),
    )
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # As autovacuum would have done by the time results arrive: hint bits and visibility
        # map set, statistics known.
        with session.get_bind().connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
    return campaign.id


def per_tube_loop(session: Session, campaign_id: int) -> int:
    """The baseline: for each result, load the tube's members, then get-or-create each
    person's status row and add an order where one is due, one object at a time."""
    now = T0 + timedelta(hours=7)
    results = session.execute(select(TubeResult.tube_id, TubeResult.result)).tuples().all()
    for tube_id, result in results:
        members = session.scalars(select(TubeMember).where(TubeMember.tube_id == tube_id)).all()
        state = {
            "not_detected": "negative",
            "inconclusive": "resample",
            "invalid": "resample",
        }.get(result, "pending_review" if len(members) > 1 else "positive")
        for member in members:
            row = session.get(PersonTestStatus, (member.person_id, campaign_id))
            if row is None:
                row = PersonTestStatus(campaign_id=campaign_id, person_id=member.person_id)
                session.add(row)
            row.status = state
            row.tube_id = tube_id
            row.last_sampled_at = member.sampled_at
            row.result_at = now
            row.updated_at = now
    session.commit()
    return len(results)


def backend_cpu(session: Session) -> float | None:
    """CPU seconds of this session's PostgreSQL backend so far, when the server runs on this
    machine (read from /proc; None elsewhere): the server's own work, apart from the load."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh(url: str | None, folder: Path, name: str) -> tuple[Session, str]:
    target = url or f"sqlite:///{folder / name}"
    migrate.upgrade(target)
    engine = create_db_engine(target)
    return sessionmaker(bind=engine, expire_on_commit=False)(), target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=400_000)
    parser.add_argument("--baseline-persons", type=int, default=20_000)
    parser.add_argument("--url", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument(
        "--sampled",
        action="store_true",
        help="every person already has the 'sampled' status (results update it)",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        session, _ = fresh(arguments.url, Path(folder), "fast.db")
        backend = session.get_bind().dialect.name
        started = time.perf_counter()
        build_city(session, arguments.persons, with_sampled=arguments.sampled)
        print(f"backend: {backend}; city of {arguments.persons:,} built in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip

        # The per-person test summaries a running platform keeps as it samples (not timed).
        summary.rebuild(session=session)
        session.commit()

        server_before = backend_cpu(session)
        started, cpu = time.perf_counter(), time.process_time()
        with use_clock(ManualClock(T0 + timedelta(hours=7))):
            report = effects.apply_results(session=session, actor=None, policy=DEFAULT_POLICY)
        session.commit()
        fast, fast_cpu = time.perf_counter() - started, time.process_time() - cpu
        server_after = backend_cpu(session)

        # Deferred work, off the statuses' clock: the run folded into the summaries.
        started, cpu = time.perf_counter(), time.process_time()
        summary.fold_backlog(session=session)
        session.commit()
        fold, fold_cpu = time.perf_counter() - started, time.process_time() - cpu
        statuses = session.scalar(select(func.count()).select_from(PersonTestStatus))
        orders = session.scalar(select(func.count()).select_from(ResampleOrder))
        assert statuses == arguments.persons, statuses
        assert report.tubes == (arguments.persons + POOL - 1) // POOL
        session.close()
        if arguments.url:
            print("baseline: run on a fresh SQLite file (the --url database is left as loaded)")
        small, _ = fresh(None, Path(folder), "loop.db")
        small_campaign = build_city(small, arguments.baseline_persons)
        started = time.perf_counter()
        loop_tubes = per_tube_loop(small, small_campaign)
        loop = time.perf_counter() - started
        small.close()
    per_person_loop = loop / arguments.baseline_persons
    extrapolated = per_person_loop * arguments.persons
    print(f"tubes: {report.tubes:,}; statuses: {statuses:,}; re-sample orders: {orders:,}; "
          f"alerts: {report.alerts:,}")  # fmt: skip
    print(
          f"apply_results (set-based, {backend}): {fast:.2f} s "
          f"({arguments.persons / fast:,.0f} people/s); CPU time of this process "
          f"{fast_cpu:.2f} s (all of SQLite's work; PostgreSQL's server time is not in it)"
    )  # fmt: skip
    if server_before is not None and server_after is not None:
        print(f"PostgreSQL backend CPU during apply_results + commit: "
              f"{server_after - server_before:.1f} s")  # fmt: skip
    print(f"then, deferred: the run folded into the per-person test summaries: {fold:.2f} s "
          f"(CPU time of this process {fold_cpu:.2f} s)")  # fmt: skip
    print(f"per-tube ORM loop (SQLite, {loop_tubes:,} tubes measured): {loop:.2f} s "
          f"({arguments.baseline_persons / loop:,.0f} people/s)")  # fmt: skip
    print(f"per-tube ORM loop EXTRAPOLATED to {arguments.persons:,} people: "
          f"{extrapolated:.0f} s")  # fmt: skip
    print(f"ratio (extrapolated loop / set-based): {extrapolated / fast:.1f}x")


if __name__ == "__main__":
    main()
