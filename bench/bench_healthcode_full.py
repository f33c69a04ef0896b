"""Health codes: the full recompute of a city of 4,000,000 (target ≤ 20 s), columns against
the per-person path.

Run: ``.venv/bin/python bench/bench_healthcode_full.py`` (``FANGKONG_BENCH_POPULATION``,
default 4,000,000; ``FANGKONG_BENCH_FIRST``, default 100,000). SQLite file in ``var/bench/``.
With ``FANGKONG_BENCH_POSTGRES_URL`` (a database name of its own: it is dropped and created),
the nightly run is repeated on PostgreSQL over a copy of the same tables.

The city is bulk-loaded straight into the tables (raw executemany, no identity encryption: the
recompute never reads identities), then its per-person test summaries are built from the samples
by the rebuild path (``summary.rebuild``, what ``fangkong testing rebuild-summary`` runs), as
after any bulk load: residents spread over the real townships of Zhuzhou's
districts, two closed mass-testing rounds in pooled tubes of ten (1 % never tested, 8 % skipped
the second round, positive pools awaiting their recheck, results still pending), 2 % key
workers, 4,000 people under isolation orders, a high- and a medium-risk community. No tracing
cases (their tables need investigations; they concern a few thousand people, read through the
provider either way).

Figures, each as wall and CPU time (the machine is shared), the nightly run also per stage
(``full.Stages``):
1. first run, every code new (a code row, a change row and a chained audit event each), on a
   ``FANGKONG_BENCH_FIRST`` city of the same make, scaled linearly to the population;
2. the nightly run at full size: yesterday's codes stored (bulk-seeded from the engine's own
   decisions), 1,000 skippers tested since, so about 1,000 codes change;
3. the baseline: the per-person path (``recompute_affected`` in batches, what ``recompute_all``
   did) on 40,000 people of the same database and stored codes, scaled to the population.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.healthcode import columns, full, jobs, service, vector
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.packs import catalog
from fangkong.registry import service as registry_service
from fangkong.registry.models import Area
from fangkong.testing import summary

NOW = datetime(2022, 11, 15, 4, tzinfo=UTC)
POPULATION = int(os.environ.get("FANGKONG_BENCH_POPULATION", 4_000_000))
FIRST = int(os.environ.get("FANGKONG_BENCH_FIRST", 100_000))
BASELINE = 40_000
TESTED_SINCE = 1_000
TARGET_SECONDS = 20.0
CITY = "4302"
POOL = 10
FOLDER = Path("var/bench")
T = TypeVar("T")


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, population: int) -> tuple[str, HealthCodeSection]:
    """A fresh SQLite city of ``population``; returns its URL and the pack in force."""
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    with Session(create_db_engine(url)) as session:
        registry_service.load_divisions(session=session)
        session.commit()
        towns = list(
            session.scalars(
                select(Area.path).where(
                    Area.path.startswith(f"/43/{CITY}/"), Area.level == "township"
                )
            )
        ) or [f"/43/{CITY}/"]
        city = session.scalars(select(Area).where(Area.code == CITY)).one()
        city_id, city_path = city.id, city.path
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = stamp(NOW)
    db.executemany(
        "INSERT INTO person (id, area_path, name, created_at, updated_at, tags, status) "
        "VALUES (?, ?, 'n', ?, ?, ?, 'active')",
        (
            (i, towns[i % len(towns)], now, now, 64 if i % 50 == 0 else 0)
            for i in range(1, population + 1)
        ),
    )
    rounds = []
    for n, (starts, ends) in enumerate(
        (
            (NOW - timedelta(days=3), NOW - timedelta(days=2)),
            (NOW - timedelta(days=1), NOW - timedelta(hours=2)),
        )
    ):
        db.execute(
            "INSERT INTO test_campaign (id, name, area_id, area_path, starts_at, ends_at, status,"
            " max_pool_size, created_at) VALUES (?, ?, ?, ?, ?, ?, 'closed', 10, ?)",
            (n + 1, f"round {n + 1}", city_id, city_path, stamp(starts), stamp(ends), now),
        )
        rounds.append(starts + timedelta(hours=6))
    db.execute(
        "INSERT INTO result_upload (id, content_sha256, format, filename, uploaded_at,"
        " accepted_count, stored_count, duplicate_count, unmatched_count, rejected_count,"
        " rejections) VALUES (1, ?, 'csv', 'b.csv', ?, 0, 0, 0, 0, 0, '[]')",
        ("0" * 64, now),
    )
    tube = 0
    for n, sampled in enumerate(rounds):
        # Everyone but 1 % comes to the first round; 8 % more skip the second.
        def attends(i: int, n: int = n) -> bool:
            return i % 100 != 0 and (n == 0 or i % 100 > 8)

        people = [i for i in range(1, population + 1) if attends(i)]
        tubes = [people[k : k + POOL] for k in range(0, len(people), POOL)]
        first_tube = tube + 1
        tube += len(tubes)
        at = stamp(sampled)
        db.executemany(
            "INSERT INTO tube (id, barcode, campaign_id, area_path, pool_size, member_count,"
            " status, opened_at, sealed_at) VALUES (?, ?, ?, ?, 10, ?, 'sealed', ?, ?)",
            (
                (first_tube + k, f"B{first_tube + k:09d}", n + 1, city_path, len(m), at, at)
                for k, m in enumerate(tubes)
            ),
        )
        db.executemany(
            "INSERT INTO tube_member (tube_id, person_id, sampled_at) VALUES (?, ?, ?)",
            ((first_tube + k, pid, at) for k, m in enumerate(tubes) for pid in m),
        )
        reported = stamp(sampled + timedelta(hours=6))
        db.executemany(
            "INSERT INTO lab_result (idempotency_key, upload_id, tube_id, tube_barcode, lab_id,"
            " message_id, result, loinc_code, ct_values, collected_at, reported_at, stored_at)"
            " VALUES (?, 1, ?, ?, 'lab', ?, ?, '94500-6', '{}', ?, ?, ?)",
            (
                (
                    f"lab|B{first_tube + k:09d}",
                    first_tube + k,
                    f"B{first_tube + k:09d}",
                    f"B{first_tube + k:09d}",
                    "detected" if k % 2000 == 7 else "not_detected",
                    at,
                    reported,
                    reported,
                )
                # The last 1 % of the second round's tubes have no result yet.
                for k in range(len(tubes))
                if n == 0 or k < len(tubes) * 0.99
            ),
        )
    db.commit()
    # Fold the write-ahead log back in, so the timed reads do not go through it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    _orders_and_areas(url, towns, population)
    wall, cpu, summarised = timed(lambda: rebuild_summary(url))
    print(
        f"test summaries of {summarised:,} people built from the samples "
        f"(`fangkong testing rebuild-summary`): {wall:.1f} s wall, {cpu:.1f} s CPU",
        flush=True,
    )
    pack = catalog().in_force(series=service.DEFAULT_SERIES, at=NOW).section(HEALTHCODE_SECTION)
    return url, pack


def rebuild_summary(url: str) -> int:
    """The per-person test summaries from the bulk-loaded samples, as after any bulk load."""
    with Session(create_db_engine(url)) as session:
        people = summary.rebuild(session=session)
        session.commit()
    return people


def _orders_and_areas(url: str, towns: list[str], population: int) -> None:
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    since = stamp(NOW - timedelta(days=2))
    kinds = ("centralised", "home_isolation", "home_monitoring")
    db.executemany(
        "INSERT INTO isolation_order (person_id, area_path, category, kind, phase_index,"
        " anchor_at, phase_started_at, planned_end_at, status, pack_id, pack_version, rule_id,"
        " created_at, updated_at) VALUES (?, ?, 'close_contact', ?, 0, ?, ?, ?, 'active',"
        " 'cn-9', 1, 'iso.close', ?, ?)",
        (
            (pid, towns[pid % len(towns)], kinds[pid // 7 % 3], since, since, since, since, since)
            for pid in range(17, population + 1, max(1, population // 4_000))
        ),
    )
    for n, level in enumerate(("high", "medium")):
        db.execute(
            "INSERT INTO risk_designation (target_kind, name, area_path, scope, level,"
            " designated_level, level_since, controls, status, since, pack_id, pack_version,"
            " created_at, updated_at) VALUES ('area', 'b', ?, 'area', ?, ?, ?, '[]',"
            " 'confirmed', ?, 'cn-9', 1, ?, ?)",
            (
                towns[n],
                level,
                level,
                (NOW - timedelta(days=2)).date().isoformat(),
                since,
                since,
                since,
            ),
        )
    db.commit()
    # Fold the write-ahead log back in, so the timed reads do not go through it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def cpu_seconds() -> float:
    """This process's CPU time (SQLite runs in-process, so its work counts)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], T]) -> tuple[float, float, T]:
    started, cpu = time.perf_counter(), cpu_seconds()
    result = work()
    return time.perf_counter() - started, cpu_seconds() - cpu, result


def seed_codes(url: str, pack: HealthCodeSection) -> tuple[float, float]:
    """Yesterday's codes: the engine's own decisions, bulk-inserted (no events). Returns the
    wall and CPU time of reading the facts and evaluating the rule for everyone."""

    def decide() -> tuple[columns.FactColumns, vector.Decisions]:
        with Session(create_db_engine(url)) as session:
            facts = columns.read(session=session, now=NOW)
            return facts, vector.evaluate(session=session, columns=facts, now=NOW, pack=pack)

    wall, cpu, (facts, decided) = timed(decide)
    kinds = [
        (rule.colour, rule.id, json.dumps(list(reasons))) for rule, reasons in decided.outcomes
    ]
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    db.executemany(
        "INSERT INTO health_code (person_id, colour, rule_id, pack_id, pack_version, reasons,"
        " valid_until, decided_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            (
                pid,
                *kinds[outcome][:2],
                pack.pack_id,
                pack.pack_version,
                kinds[outcome][2],
                None if until == vector.NEVER else stamp(columns.from_micros(until)),
                stamp(NOW),
            )
            for pid, outcome, until in zip(
                facts.ids.tolist(),
                decided.outcome.tolist(),
                decided.valid_until.tolist(),
                strict=True,
            )
        ),
    )
    db.commit()
    # Fold the write-ahead log back in, so the timed reads do not go through it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return wall, cpu


def tested_since(url: str) -> None:
    """``TESTED_SINCE`` people who skipped the second round take a test (result pending); their
    summaries are refreshed as adding a member to a tube does."""
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    last = db.execute("SELECT max(id) FROM tube").fetchone()[0]
    skippers = [i for i in range(1, POPULATION + 1) if 0 < i % 100 <= 8][:TESTED_SINCE]
    at = stamp(NOW - timedelta(minutes=30))
    db.executemany(
        "INSERT INTO tube (id, barcode, area_path, pool_size, member_count, status, opened_at)"
        " VALUES (?, ?, '/43/', 1, 1, 'sealed', ?)",
        ((last + k + 1, f"S{k:09d}", at) for k in range(len(skippers))),
    )
    db.executemany(
        "INSERT INTO tube_member (tube_id, person_id, sampled_at) VALUES (?, ?, ?)",
        ((last + k + 1, pid, at) for k, pid in enumerate(skippers)),
    )
    db.commit()
    db.close()
    with Session(create_db_engine(url)) as session:
        summary.refresh_tubes(
            session=session, tube_ids=list(range(last + 1, last + 1 + len(skippers)))
        )
        session.commit()
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    # Fold the write-ahead log back in, so the timed reads do not go through it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


# The tables the recompute reads, copied in this order (foreign keys point backwards).
COPIED = (
    "area",
    "person",
    "test_campaign",
    "result_upload",
    "tube",
    "tube_member",
    "lab_result",
    "isolation_order",
    "risk_designation",
    "health_code",
    "person_test_summary",
)


def to_postgres(path: Path, url: str) -> None:
    """A fresh PostgreSQL database at ``url`` holding the SQLite city's tables (COPY, no
    foreign-key triggers: the rows come from a database that checked them)."""
    admin = make_url(url).set(database="postgres")
    name = make_url(url).database
    with create_db_engine(
        admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    ).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    migrate.upgrade(url)
    source = sqlite3.connect(path)
    target = psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with target.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET session_replication_role = replica")
        cur.execute("DELETE FROM area")
        for table in COPIED:
            names = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            columns = ", ".join(names)
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM {table}"):
                    copy.write_row(row)
        target.commit()
    target.autocommit = True
    target.execute("VACUUM ANALYZE")
    target.close()
    source.close()


def backend_cpu(pid: int) -> float:
    """CPU seconds of one PostgreSQL backend process (same machine), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_nightly(url: str, pack: HealthCodeSection) -> None:
    """The nightly run again on PostgreSQL, over a copy of the same city and stored codes."""
    stages = full.Stages()
    with Session(create_db_engine(url)) as session:
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        assert isinstance(pid, int)
        before = backend_cpu(pid)
        wall, cpu, nightly = timed(
            lambda: full.recompute(session=session, now=NOW, pack=pack, stages=stages)
        )
        server = backend_cpu(pid) - before
    print(
        f"PostgreSQL full recompute, {POPULATION:,} people, {len(nightly.changed):,} changed, "
        f"{len(nightly.refreshed):,} refreshed: {wall:.1f} s wall, {cpu:.1f} s CPU in this "
        f"process + {server:.1f} s CPU in its server backend (parallel workers not counted)",
        flush=True,
    )
    for stage, (stage_wall, stage_cpu) in stages.seconds.items():
        print(f"  {stage}: {stage_wall:.1f} s wall, {stage_cpu:.1f} s CPU", flush=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    print(f"load before: {uptime()}", flush=True)
    # 1. First run, every code new, on a smaller city of the same make.
    url, pack = build(FOLDER / "healthcode_first.db", FIRST)
    with Session(create_db_engine(url)) as session:
        wall, cpu, first = timed(
            lambda: jobs.recompute_all(session=session, now=NOW, pack=pack, vectorised=True)
        )
    assert first.changed == FIRST, first
    scale = POPULATION / FIRST
    print(
        f"first run (every code new, {FIRST:,} people): {wall:.1f} s wall, {cpu:.1f} s CPU; "
        f"scaled to {POPULATION:,}: {wall * scale:.0f} s wall, {cpu * scale:.0f} s CPU",
        flush=True,
    )
    # 2. The nightly run at full size, about TESTED_SINCE codes changing.
    started = time.perf_counter()
    url, pack = build(FOLDER / "healthcode_full.db", POPULATION)
    print(f"city of {POPULATION:,} loaded in {time.perf_counter() - started:.0f} s", flush=True)
    read_wall, read_cpu = seed_codes(url, pack)
    print(
        f"read facts + evaluate the rule, {POPULATION:,} people: {read_wall:.1f} s wall, "
        f"{read_cpu:.1f} s CPU",
        flush=True,
    )
    tested_since(url)
    postgres = os.environ.get("FANGKONG_BENCH_POSTGRES_URL")
    if postgres:
        started = time.perf_counter()
        to_postgres(FOLDER / "healthcode_full.db", postgres)
        print(f"copied to PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)
    stages = full.Stages()
    with Session(create_db_engine(url)) as session:
        wall, cpu, nightly = timed(
            lambda: full.recompute(session=session, now=NOW, pack=pack, stages=stages)
        )
    print(
        f"full recompute, {POPULATION:,} people, {len(nightly.changed):,} changed, "
        f"{len(nightly.refreshed):,} refreshed: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(target ≤ {TARGET_SECONDS:.0f} s: {'met' if wall <= TARGET_SECONDS else 'missed'} "
        f"by wall, {'met' if cpu <= TARGET_SECONDS else 'missed'} by CPU)",
        flush=True,
    )
    for stage, (stage_wall, stage_cpu) in stages.seconds.items():
        print(f"  {stage}: {stage_wall:.1f} s wall, {stage_cpu:.1f} s CPU", flush=True)
    # 3. The per-person path on BASELINE people of the same database, nothing left to change.
    ids = list(range(1, BASELINE + 1))

    def per_person() -> int:
        with Session(create_db_engine(url)) as session:
            changed = 0
            for start in range(0, len(ids), jobs.BATCH):
                result = service.recompute_affected(
                    session=session, person_ids=ids[start : start + jobs.BATCH], now=NOW, pack=pack
                )
                session.commit()
                changed += len(result.changed)
            return changed

    base_wall, base_cpu, base_changed = timed(per_person)
    scale = POPULATION / BASELINE
    print(
        f"baseline, per-person path ({BASELINE:,} people, {base_changed} changed): "
        f"{base_wall:.1f} s wall, {base_cpu:.1f} s CPU; scaled to {POPULATION:,}: "
        f"{base_wall * scale:.0f} s wall, {base_cpu * scale:.0f} s CPU; columns are "
        f"{base_wall * scale / wall:.1f}x faster by wall, {base_cpu * scale / cpu:.1f}x by CPU",
        flush=True,
    )
    if postgres:
        postgres_nightly(postgres, pack)
    print(f"load after: {uptime()}", flush=True)


if __name__ == "__main__":
    main()
