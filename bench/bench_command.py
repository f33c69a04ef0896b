"""Benchmark: the command centre on a big city with 30 days of outbreak data.

Run: ``.venv/bin/python bench/bench_command.py`` (``FANGKONG_BENCH_POPULATION``, default
4,000,000; ``FANGKONG_BENCH_DB`` keeps the SQLite file between runs, default
``var/bench/command.db``, rebuilt when missing). The city comes from the synthetic city
generator and its bulk loader; 30 days of activity (test rounds sampling 5 % of the residents a
day in tubes of 10 with their results, cases with their course, investigations, contacts,
isolation orders, transfers, risk areas) and every resident's health code and vaccination are
synthesised and bulk-inserted, not played through a drill.

Then it measures, on SQLite:

* the daily job: figures and bulletin of the last day for the city and every district (raw
  tables → stored figures), and the refresh of the dashboard's snapshots;
* the dashboard's data over HTTP (``GET /api/v1/command/dashboard``, uvicorn in a thread, one
  client) for the city and for one district: p50/p95 against the target of 300 ms;
* the same figures computed from the raw tables in the same process (the 14 days of the series
  with ``compute_figures`` and the panels counted live), the baseline of the ratio.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts.enums import Role
from fangkong.accounts.models import User
from fangkong.accounts.security import hash_password
from fangkong.accounts.service import actor_for
from fangkong.app import create_app
from fangkong.command import jobs, panels, rules, service
from fangkong.config import Settings
from fangkong.core.crypto import get_cipher
from fangkong.db import migrate
from fangkong.db.base import Base
from fangkong.db.session import create_db_engine
from fangkong.registry import bulk
from fangkong.registry import service as registry_service
from fangkong.registry.models import Area
from fangkong.sim.city.generator import generate
from fangkong.sim.city.load import load_city
from fangkong.web.deps import get_session

POPULATION = int(os.environ.get("FANGKONG_BENCH_POPULATION", "4000000"))
DB = Path(os.environ.get("FANGKONG_BENCH_DB", "var/bench/command.db"))
TZ = "Asia/Shanghai"
DAYS = 30
SAMPLED_SHARE_PER_DAY = 0.05
CASES_PER_RESIDENT = 0.004
CONTACTS_PER_CASE = 8
REQUESTS = 60
TARGET_MS = 300.0
TARGET_BULLETIN_S = 5.0
SEED = 2022
PASSWORD = "bench-password-1"


def ts(moment: datetime) -> str:
    """UTCDateTime as SQLite stores it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert(session: Session, table: str, columns: tuple[str, ...], rows: Any) -> int:
    raw: Any = session.connection().connection.dbapi_connection
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    cursor = raw.cursor()
    written = 0
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 50_000:
            cursor.executemany(statement, batch)
            written += len(batch)
            batch = []
    if batch:
        cursor.executemany(statement, batch)
        written += len(batch)
    cursor.close()
    return written


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def synthesise(session: Session, first_day: date) -> dict[str, int]:
    """Bulk-insert 30 days of activity over the loaded city; returns rows per table."""
    rng = random.Random(SEED)
    ids: list[int] = []
    path_of: list[int] = []
    paths: list[str] = []
    index: dict[str, int] = {}
    for person_id, path in session.execute(text("SELECT id, area_path FROM person ORDER BY id")):
        ids.append(person_id)
        path_of.append(index.setdefault(path, len(index)))
    paths = list(index)
    n = len(ids)
    counts: dict[str, int] = {}
    city = session.scalars(select(Area).where(Area.code == "4302")).one()
    start = local_midnight(first_day)
    day_starts = [start + timedelta(days=d) for d in range(DAYS)]

    # health codes and a first dose for ~90 % of the residents
    decided = ts(day_starts[-1])
    counts["health_code"] = insert(
        session,
        "health_code",
        ("person_id", "colour", "rule_id", "pack_id", "pack_version", "reasons", "decided_at",
         "revision"),
        ((pid, "green" if rng.random() < 0.97 else ("yellow" if rng.random() < 0.7 else "red"),
          "bench", "cn-9", 1, "[]", decided, 1) for pid in ids),
    )  # fmt: skip
    counts["dose_record"] = insert(
        session,
        "dose_record",
        ("person_id", "product", "dose_number", "administered_on", "site", "source",
         "recorded_at"),
        ((pid, "511", 1, "2021-06-01", "社区接种点", "import", decided)
         for pid in ids if rng.random() < 0.9),
    )  # fmt: skip

    # test rounds: one every 3 days over the city, the last one still open
    rounds = DAYS // 3
    for r in range(rounds):
        opened = day_starts[3 * r]
        session.execute(
            text(
                "INSERT INTO test_campaign (id, name, area_id, area_path, starts_at, ends_at,"
                " status, max_pool_size, created_at) VALUES (:id, :name, :area, :path, :s, :e,"
                " :status, 10, :s)"
            ),
            {
                "id": r + 1,
                "name": f"株洲市第{r + 1}轮",
                "area": city.id,
                "path": city.path,
                "s": ts(opened),
                "e": ts(opened + timedelta(days=3)),
                "status": "open" if r == rounds - 1 else "closed",
            },
        )
    per_day = int(n * SAMPLED_SHARE_PER_DAY)
    tubes: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    results: list[tuple[Any, ...]] = []
    outcomes: list[tuple[Any, ...]] = []
    tube_id = 0
    session.execute(
        text(
            "INSERT INTO result_upload (id, content_sha256, format, filename, uploaded_at,"
            " accepted_count, stored_count, duplicate_count, unmatched_count, rejected_count,"
            " rejections) VALUES (1, :sha, 'csv', 'bench.csv', :at, 0, 0, 0, 0, 0, '[]')"
        ),
        {"sha": "0" * 64, "at": ts(start)},
    )
    with bulk.indexes_built_afterwards(
        session=session,
        tables=[table("tube"), table("tube_member"), table("lab_result"), table("tube_outcome")],
    ):
        for d in range(DAYS):
            chosen = sorted(rng.sample(range(n), per_day))
            for k in range(0, len(chosen), 10):
                tube_id += 1
                group = chosen[k : k + 10]
                sampled = day_starts[d] + timedelta(minutes=rng.randrange(60, 12 * 60))
                reported = sampled + timedelta(minutes=rng.randrange(240, 1440))
                path = paths[path_of[group[0]]]
                tubes.append((tube_id, f"B{tube_id:09d}", 1 + d // 3, path, 10, len(group),
                              "sealed", ts(sampled), ts(sampled)))  # fmt: skip
                members.extend((tube_id, ids[g], ts(sampled)) for g in group)
                results.append((tube_id, f"lab|{tube_id}", 1, tube_id, f"B{tube_id:09d}", "lab",
                                str(tube_id), "not_detected", "94500-6", "{}", ts(sampled),
                                ts(reported), ts(reported), ts(reported)))  # fmt: skip
                outcomes.append((tube_id, tube_id, 1 + d // 3, path, "not_detected", len(group),
                                 ts(sampled), ts(reported),
                                 int((reported - sampled).total_seconds()), "bench",
                                 ts(reported)))  # fmt: skip
            counts["tube"] = counts.get("tube", 0) + insert(
                session,
                "tube",
                ("id", "barcode", "campaign_id", "area_path", "pool_size", "member_count",
                 "status", "opened_at", "sealed_at"),
                tubes,
            )  # fmt: skip
            counts["tube_member"] = counts.get("tube_member", 0) + insert(
                session, "tube_member", ("tube_id", "person_id", "sampled_at"), members
            )
            counts["lab_result"] = counts.get("lab_result", 0) + insert(
                session,
                "lab_result",
                ("id", "idempotency_key", "upload_id", "tube_id", "tube_barcode", "lab_id",
                 "message_id", "result", "loinc_code", "ct_values", "collected_at",
                 "received_at", "reported_at", "stored_at"),
                results,
            )  # fmt: skip
            counts["tube_outcome"] = counts.get("tube_outcome", 0) + insert(
                session,
                "tube_outcome",
                ("lab_result_id", "tube_id", "campaign_id", "area_path", "result",
                 "member_count", "sampled_at", "result_at", "turnaround_seconds", "run_id",
                 "applied_at"),
                outcomes,
            )  # fmt: skip
            tubes, members, results, outcomes = [], [], [], []

    # cases growing over the 30 days, with their course; each with an investigation, contacts,
    # isolation orders for the contacts and a transfer for every tenth order
    total_cases = int(n * CASES_PER_RESIDENT)
    weights = [1.15**d for d in range(DAYS)]
    case_people = rng.sample(range(n), total_cases)
    case_rows, investigation_rows, contact_rows, order_rows, transfer_rows = [], [], [], [], []
    contact_id = 0
    for case_id, g in enumerate(case_people, start=1):
        d = rng.choices(range(DAYS), weights)[0]
        reported = day_starts[d] + timedelta(minutes=rng.randrange(0, 1440))
        kind = "confirmed" if rng.random() < 0.3 else "asymptomatic"
        reclassified = None
        if kind == "asymptomatic" and rng.random() < 0.05:
            kind, reclassified = "confirmed", reported + timedelta(days=1)
        age = (day_starts[-1] + timedelta(days=1) - reported).days
        status, outcome = "reported", None
        if age > 10 and rng.random() < 0.8:
            status = "died" if kind == "confirmed" and rng.random() < 0.002 else "discharged"
            outcome = reported + timedelta(days=rng.randrange(7, min(age, 14) + 1))
        elif age > 1:
            status = "in_hospital" if kind == "confirmed" else "in_shelter_hospital"
        onset = (reported - timedelta(days=rng.randrange(0, 3))).astimezone(ZoneInfo(TZ)).date()
        path = paths[path_of[g]]
        changed = outcome or reported
        case_rows.append((case_id, ids[g], ids[g], path, kind, status, "mass_round",
                          onset.isoformat() if kind == "confirmed" else None, ts(reported),
                          ts(reclassified) if reclassified else None,
                          ts(outcome) if outcome else None, ts(reported), ts(changed)))  # fmt: skip
        looked_back = reported - timedelta(days=4)
        confirmed = reported + timedelta(hours=20)
        investigation_rows.append((case_id, case_id, path, "confirmed", ts(looked_back),
                                   ts(reported), ts(reported + timedelta(hours=24)), "cn-9", 1,
                                   ts(reported), ts(confirmed), ts(confirmed),
                                   ts(confirmed)))  # fmt: skip
        for _ in range(CONTACTS_PER_CASE):
            contact_id += 1
            c = rng.randrange(n)
            found = reported + timedelta(hours=rng.randrange(4, 24))
            handed = found + timedelta(hours=rng.randrange(1, 12))
            done = handed < day_starts[-1]
            due = found + timedelta(hours=12)
            contact_rows.append((contact_id, case_id, case_id, ids[c], paths[path_of[c]],
                                 "close_contact", "handed_over" if done else "identified",
                                 "cn-9@1:contacts.close", ts(reported), ts(due), ts(found),
                                 ts(handed) if done else None,
                                 ts(handed if done else found)))  # fmt: skip
            if done:
                ends = handed + timedelta(days=7)
                released = ends < day_starts[-1]
                order_rows.append((contact_id, ids[c], paths[path_of[c]], "close_contact",
                                   "centralised", 0, ts(handed), ts(handed), ts(ends),
                                   "released" if released else "active", "cn-9", 1,
                                   "isolation.close_contact", ts(handed),
                                   ts(ends if released else handed)))  # fmt: skip
                if contact_id % 10 == 0:
                    checked = handed + timedelta(hours=rng.randrange(1, 8))
                    transfer_rows.append(("contacts", "isolation_facility", "隔离点",
                                          paths[path_of[c]], "湘B", "一组",
                                          "checked_in" if checked < day_starts[-1] else "planned",
                                          ts(handed + timedelta(hours=6)), "setting:bench",
                                          ts(checked) if checked < day_starts[-1] else None,
                                          ts(handed), ts(checked)))  # fmt: skip
    counts["tracing_case"] = insert(
        session,
        "tracing_case",
        ("id", "person_id", "active_person_id", "area_path", "kind", "status", "detection_route",
         "onset_date", "reported_at", "reclassified_at", "outcome_at", "created_at",
         "updated_at"),
        case_rows,
    )  # fmt: skip
    counts["tracing_investigation"] = insert(
        session,
        "tracing_investigation",
        ("id", "case_id", "area_path", "status", "window_start", "window_end", "due_at",
         "pack_id", "pack_version", "opened_at", "confirmed_at", "contacts_found_at",
         "updated_at"),
        investigation_rows,
    )  # fmt: skip
    with bulk.indexes_built_afterwards(
        session=session, tables=[table("tracing_contact"), table("isolation_order")]
    ):
        counts["tracing_contact"] = insert(
            session,
            "tracing_contact",
            ("id", "investigation_id", "case_id", "person_id", "area_path", "category",
             "status", "rule_ref", "last_exposure_at", "due_at", "identified_at",
             "handed_over_at", "updated_at"),
            contact_rows,
        )  # fmt: skip
        counts["isolation_order"] = insert(
            session,
            "isolation_order",
            ("id", "person_id", "area_path", "category", "kind", "phase_index", "anchor_at",
             "phase_started_at", "planned_end_at", "status", "pack_id", "pack_version",
             "rule_id", "created_at", "updated_at"),
            order_rows,
        )  # fmt: skip
    counts["transfer_task"] = insert(
        session,
        "transfer_task",
        ("kind", "destination_kind", "destination_name", "area_path", "vehicle", "team",
         "status", "deadline_at", "deadline_rule", "checked_in_at", "created_at",
         "updated_at"),
        transfer_rows,
    )  # fmt: skip
    districts = list(
        session.scalars(select(Area).where(Area.parent_id == city.id).order_by(Area.path))
    )
    designations = []
    for k in range(200):
        area = districts[k % len(districts)]
        since = day_starts[rng.randrange(DAYS)] + timedelta(hours=10)
        lifted = since + timedelta(days=10) < day_starts[-1]
        designations.append((
            "area", area.id, f"风险区{k}", area.path, "place", "high", "high",
            since.date().isoformat(), "[]", "lifted" if lifted else "confirmed", ts(since),
            "cn-9", 1, ts(since), ts(since + timedelta(days=10)) if lifted else ts(since),
        ))  # fmt: skip
    counts["risk_designation"] = insert(
        session,
        "risk_designation",
        ("target_kind", "area_id", "name", "area_path", "scope", "level", "designated_level",
         "level_since", "controls", "status", "since", "pack_id", "pack_version", "created_at",
         "updated_at"),
        designations,
    )  # fmt: skip
    session.execute(text("ANALYZE"))
    return counts


def build(url: str, first_day: date) -> None:
    """Load the city and synthesise the 30 days, each step skipped when the file already has
    it (a run interrupted after the city was loaded resumes with the synthesis)."""
    DB.parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url)
    engine = create_db_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        registry_service.load_divisions(session=session)
        session.commit()
        if not session.execute(text("SELECT 1 FROM person LIMIT 1")).first():
            city = generate(population=POPULATION, seed=SEED)
            executor = bulk.identity_executor(2)
            try:
                with bulk.bulk_settings(session=session):
                    load_city(session=session, city=city, cipher=get_cipher(), executor=executor)
            finally:
                executor.shutdown()
            session.commit()
            print(f"city of {POPULATION:,} loaded in {time.perf_counter() - started:.1f} s")
        if session.execute(text("SELECT 1 FROM tube LIMIT 1")).first():
            engine.dispose()
            return
        loaded = time.perf_counter()
        with bulk.bulk_settings(session=session):
            counts = synthesise(session, first_day)
        session.commit()
        print(
            f"30 days synthesised in {time.perf_counter() - loaded:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            flush=True,
        )
        session.add(
            User(
                username="bench-command",
                display_name="bench",
                role=str(Role.COMMAND_CENTRE),
                password_hash=hash_password(PASSWORD),
                area_id=session.scalars(select(Area.id).where(Area.code == "4302")).one(),
                jurisdiction_path="/43/4302/",
                is_active=True,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    engine.dispose()


@contextmanager
def serve(url: str, factory: sessionmaker[Session]) -> Iterator[str]:
    """The app under uvicorn in a thread of this process, on a free port."""

    def request_session() -> Iterator[Session]:
        session = factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    app = create_app(Settings(database_url=url))
    app.dependency_overrides[get_session] = request_session
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_requests(client: httpx.Client, params: dict[str, str]) -> list[float]:
    client.get("/api/v1/command/dashboard", params=params).raise_for_status()  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get("/api/v1/command/dashboard", params=params)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def raw_dashboard(session: Session, actor: Any, path: str, first: date, last: date) -> None:
    """The same figures from the raw tables: every day of the series computed, the panels
    counted live (no snapshot)."""
    day = first
    while day <= last:
        start, end = rules.day_window(day, cutoff_hour=24, timezone=TZ)
        service.compute_figures(session=session, path=path, start=start, end=end)
        day += timedelta(days=1)
    panels.onset_curve(session=session, actor=actor, path=path, first=first, last=last)
    panels._codes(session=session, actor=actor, path=path)
    panels._residents(session=session, actor=actor, path=path)
    panels._rounds(session=session, actor=actor, path=path)


def main() -> None:
    os.environ.setdefault("FANGKONG_TIMEZONE", TZ)
    url = f"sqlite:///{DB.resolve()}"
    today = datetime.now(ZoneInfo(TZ)).date()
    last_day = today - timedelta(days=1)
    first_day = last_day - timedelta(days=DAYS - 1)
    build(url, first_day)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    engine = create_db_engine(url)
    factory = sessionmaker(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # statistics for indexes added since the load
    with factory() as session:
        started = time.perf_counter()
        # the stored days the dashboard's 14-day series reads (the daily job wrote one a day)
        for day in [last_day - timedelta(days=d) for d in range(13, 0, -1)]:
            service.compute_day(
                session=session,
                actor=None,
                day=day,
                now=datetime.now(UTC),
                cutoff_hour=24,
                timezone=TZ,
            )
        session.commit()
        print(f"figures of the 13 days before computed in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        bulletins = service.generate_bulletins(
            session=session,
            actor=None,
            day=last_day,
            now=datetime.now(UTC),
            cutoff_hour=24,
            timezone=TZ,
        )
        session.commit()
        bulletin_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = jobs.refresh_snapshots(session=session)
        session.commit()
        refresh_s = time.perf_counter() - started
        print(f"bulletin of {last_day} ({len(bulletins)} cities): {bulletin_s:.2f} s")
        print(f"snapshot refresh ({len(rows)} areas): {refresh_s:.2f} s", flush=True)
        district = session.scalars(
            select(Area.path)
            .where(Area.path.like("/43/4302/%"), Area.level == "county")
            .order_by(Area.path)
        ).first()
        user = session.scalars(select(User).where(User.username == "bench-command")).one()
        actor = actor_for(user)
        baseline: dict[str, float] = {}
        for name, path in (("city", "/43/4302/"), ("district", district)):
            runs = []
            # one run at scale, where each takes minutes; the median of three on small cities
            for _ in range(1 if POPULATION > 100_000 else 3):
                started = time.perf_counter()
                raw_dashboard(session, actor, path, last_day - timedelta(days=13), last_day)
                runs.append((time.perf_counter() - started) * 1000)
            baseline[name] = statistics.median(runs)
    figures: dict[str, list[float]] = {}
    with serve(url, factory) as base, httpx.Client(base_url=base, timeout=60) as client:
        client.get("/login")
        logged_in = client.post(
            "/login",
            data={
                "username": "bench-command",
                "password": PASSWORD,
                "login_csrf": client.cookies.get("fk_login_csrf") or "",
                "next": "/",
            },
        )
        assert logged_in.status_code == 303, logged_in.text
        for name, path in (("city", "/43/4302/"), ("district", district)):
            figures[name] = timed_requests(client, {"path": str(path), "days": "14"})
    print(f"\nSQLite, {POPULATION:,} residents, {DAYS} days; load average {os.getloadavg()}")
    for name, times in figures.items():
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        verdict = "met" if p95 <= TARGET_MS else "MISSED"
        print(
            f"dashboard data over HTTP, {name:8}: p50 {p50:7.1f} ms, p95 {p95:7.1f} ms "
            f"(target p95 <= {TARGET_MS:.0f} ms: {verdict}); raw tables {baseline[name]:8.1f} ms "
            f"= {baseline[name] / p50:.1f}x the p50"
        )
    verdict = "met" if bulletin_s <= TARGET_BULLETIN_S else "MISSED"
    print(f"daily bulletin (figures from raw tables + text): {bulletin_s:.2f} s "
          f"(target <= {TARGET_BULLETIN_S:.0f} s: {verdict})")  # fmt: skip
    print(f"snapshot refresh (daily job / cron): {refresh_s:.2f} s")


if __name__ == "__main__":
    main()
