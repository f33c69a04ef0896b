"""Whitelist passes and vaccination coverage at city scale, each against a per-row baseline run
in the same process.

1. Issue 10,000 whitelist cards through the real service (signed tokens, stored rows, one audit
   event, commit) and print their PDF sheet, on a fresh SQLite file. Baseline: issuing passes
   one request per person (a row, an audit event and a commit each), on 1,000 people.
2. Coverage by age group and district for a city of 4,000,000 residents from synthesised birth
   dates and dose table (~2.4 doses per resident), with the array functions alone
   (``coverage.ages_on``, ``levels_from_doses``, ``count``). Baseline: the pure rules
   (``rules.age_on``, ``level_for``, ``age_group``) applied row by row to the same arrays.
   Reading the columns from the database is not in this figure.
3. Then (alone with ``--from-database``): the same synthesised city bulk-loaded into a fresh
   SQLite file, or a fresh PostgreSQL database (``--fresh-postgres ADMIN_URL``, dropped after)
   or a given one (``--database-url``); every resident's level rebuilt from the doses
   (``levels.rebuild``). None of that is timed. Timed: the service call the coverage page makes
   (``service.coverage_table``, one pass over the coverage index), first call and best of 3.
   Baseline: coverage as it was computed before levels were stored, every resident's columns
   and every dose row read from the database and counted by the array functions. Every table
   is checked equal to the array path's counts on the synthesised arrays.

Run: ``.venv/bin/python bench/bench_enterprise.py [--passes 10000] [--residents 4000000]``
``[--from-database --database-residents 4000000 [--fresh-postgres postgresql://…/postgres]]``
(``make bench`` runs the defaults, whose database city has 200,000 residents; a 4,000,000
city takes about ten minutes to load and rebuild on a busy 2-core machine.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Permission, Role
from fangkong.config import Settings
from fangkong.core.crypto import get_cipher
from fangkong.core.scope import Actor
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.enterprise import actions, passes, service
from fangkong.enterprise.enums import ApplicationStatus
from fangkong.enterprise.rules import credit_code_check_character
from fangkong.enterprise.schemas import EnterpriseCreate, PlanFields, WhitelistIssue
from fangkong.registry import bulk
from fangkong.registry import service as registry_service
from fangkong.registry.enums import AreaLevel
from fangkong.registry.identity import protect_id_number
from fangkong.registry.models import Person
from fangkong.registry.rules import resident_id_check_character
from fangkong.vaccination import coverage, levels, rules
from fangkong.vaccination import service as vaccination_service
from fangkong.vaccination.models import DoseRecord
from fangkong.vaccination.products import PRODUCTS

NOW = datetime.now(UTC)
DISTRICTS = 9  # Zhuzhou's county-level units


def _people(session: Session, count: int, offset: int) -> list[int]:
    cipher = get_cipher()
    rows = []
    for n in range(offset, offset + count):
        first_17 = f"4302{n:07d}1980{n % 9000 + 1000:04d}"[:17]
        identity = protect_id_number(cipher, first_17 + resident_id_check_character(first_17))
        rows.append(
            {
                "area_path": "/43/4302/430203/430203003/",
                "document_type": "resident_id",
                "id_number_encrypted": identity.encrypted,
                "id_number_index": identity.index,
                "id_number_masked": identity.masked,
                "name": f"职工{n}",
                "birth_date": date(1985, 1, 1),
                "tags": 0,
                "status": "active",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    return list(session.scalars(insert(Person).returning(Person.id), rows))


def _approved_enterprise(
    factory: sessionmaker[Session], staff: int, suffix: str
) -> tuple[Actor, int, list[int]]:
    with factory() as session:
        bureau = accounts_service.actor_for(
            accounts_service.create_user(
                session=session,
                actor=None,
                username=f"bureau{suffix}",
                password="x" * 12,
                role=Role.INDUSTRY_BUREAU,
                display_name="b",
                area_code="4302",
            )
        )
        person_ids = _people(session, staff, offset=int(suffix) * 100_000)
        credit = "91430200MA4L16JQ9" if suffix == "1" else "91430200MA4L16JQ8"
        enterprise = service.register_enterprise(
            session=session,
            actor=bureau,
            enterprise_in=EnterpriseCreate(
                credit_code=credit + credit_code_check_character(credit),
                name=f"企业{suffix}",
                industry="rail_equipment",
                is_above_scale=True,
                park="董家塅高科园",
                address="芦淞区",
                area_code="430203",
                contact_name="王",
                contact_phone="13800000000",
            ),
        )
        application = service.submit_application(
            session=session,
            actor=bureau,
            enterprise_id=enterprise.id,
            plan=PlanFields(
                is_closed_loop=True,
                is_point_to_point_commuting=True,
                dormitory_beds=0,
                prevention_officer="李",
                prevention_officer_phone="13900000000",
                emergency_plan="预案",
                staff_person_ids=person_ids,
            ),
        )
        service.review(
            session=session,
            actor=bureau,
            application_id=application.id,
            decision=ApplicationStatus.APPROVED,
            note="",
        )
        session.commit()
        return bureau, application.id, person_ids


def bench_passes(count: int, baseline_count: int) -> None:
    keys = passes.keys_from_spec(Settings().code_signing_key)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        engine = create_db_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            registry_service.load_divisions(session=session)
            session.commit()
        bureau, application_id, _ = _approved_enterprise(factory, count, "1")
        issue = WhitelistIssue(
            application_id=application_id,
            valid_from=NOW,
            valid_until=NOW + timedelta(days=14),
            route="宿舍—厂区",
            sites=["厂区"],
        )

        started = time.perf_counter()
        with factory() as session:
            issued = actions.issue_whitelist_passes(
                session=session, actor=bureau, keys=keys, issue_in=issue
            )
            session.commit()
        signed = time.perf_counter()
        with factory() as session:
            pdf = actions.pass_sheet(
                session=session, actor=bureau, keys=keys, application_id=application_id
            )
        finished = time.perf_counter()
        assert len(issued) == count

        bureau2, application2, people2 = _approved_enterprise(factory, baseline_count, "2")
        base_started = time.perf_counter()
        for person_id in people2:
            with factory() as session:
                actions.issue_whitelist_passes(
                    session=session,
                    actor=bureau2,
                    keys=keys,
                    issue_in=issue.model_copy(
                        update={"application_id": application2, "person_ids": [person_id]}
                    ),
                )
                session.commit()
        baseline = time.perf_counter() - base_started
        engine.dispose()

    total = finished - started
    per_pass = total / count
    per_pass_baseline = baseline / baseline_count
    print(
        f"whitelist passes: {count}, issue+sign+store+commit {signed - started:.2f} s, "
        f"PDF sheet {finished - signed:.2f} s ({len(pdf) / 1e6:.1f} MB, {-(-count // 8)} pages)"
    )
    print(f"total {total:.2f} s ({per_pass * 1000:.2f} ms per pass; target 30 s)")
    print(
        f"baseline, one request per pass (no PDF), {baseline_count} passes: {baseline:.2f} s "
        f"({per_pass_baseline * 1000:.2f} ms per pass)"
    )
    print(f"ratio per pass (baseline / bulk incl. PDF): {per_pass_baseline / per_pass:.1f}x")


def synthesise(residents: int, seed: int = 2022) -> tuple[np.ndarray, ...]:
    """Birth dates, districts and a dose table (resident index, dose number, CVX code)."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1922-12-01") + rng.integers(0, 100 * 365, residents).astype(
        "timedelta64[D]"
    )
    districts = rng.integers(0, DISTRICTS, residents, dtype=np.int16)
    # Each resident got 0..4 doses of one product.
    doses_each = rng.choice(5, residents, p=[0.08, 0.04, 0.30, 0.55, 0.03]).astype(np.int8)
    codes = np.array([p.cvx for p in PRODUCTS])
    product_index = rng.integers(0, len(PRODUCTS), residents, dtype=np.int8)
    dose_resident = np.repeat(np.arange(residents, dtype=np.int64), doses_each)
    starts = np.repeat(np.cumsum(doses_each, dtype=np.int64) - doses_each, doses_each)
    dose_number = (np.arange(len(dose_resident), dtype=np.int64) - starts + 1).astype(np.int16)
    return births, districts, dose_resident, dose_number, codes[product_index][dose_resident]


def per_row(
    births: np.ndarray,
    districts: np.ndarray,
    dose_resident: np.ndarray,
    dose_number: np.ndarray,
    dose_product: np.ndarray,
    on: date,
) -> dict[tuple[str, int], list[int]]:
    """The baseline: the pure rules applied one row at a time."""
    highest: dict[int, int] = {}
    first_product: dict[int, str] = {}
    for resident, number, product in zip(
        dose_resident.tolist(), dose_number.tolist(), dose_product.tolist(), strict=True
    ):
        highest[resident] = max(highest.get(resident, 0), number)
        if number == 1:
            first_product[resident] = product
    table: dict[tuple[str, int], list[int]] = {}
    for resident, (born, district) in enumerate(
        zip(births.tolist(), districts.tolist(), strict=True)
    ):
        group = rules.age_group(rules.age_on(born, on))
        if group is None:
            continue
        level = rules.level_for(
            highest_dose=highest.get(resident, 0), first_product=first_product.get(resident)
        )
        cell = table.setdefault((group, district), [0, 0, 0, 0])
        cell[0] += 1
        for k in range(1, 4):
            cell[k] += level >= k
    return table


def bench_coverage(residents: int) -> None:
    on = date(2022, 11, 20)
    births, districts, dose_resident, dose_number, dose_product = synthesise(residents)
    started = time.perf_counter()
    levels = coverage.levels_from_doses(
        resident_count=residents,
        dose_resident=dose_resident,
        dose_number=dose_number,
        dose_product=dose_product,
    )
    counts = coverage.count(
        ages=coverage.ages_on(births, on), areas=districts, levels=levels, area_count=DISTRICTS
    )
    vector = time.perf_counter() - started
    started = time.perf_counter()
    table = per_row(births, districts, dose_resident, dose_number, dose_product, on)
    naive = time.perf_counter() - started
    same = all(
        [
            int(counts.population[coverage.GROUPS.index(g), d]),
            *map(int, counts.reached[coverage.GROUPS.index(g), d]),
        ]
        == cell
        for (g, d), cell in table.items()
    )
    print(
        f"residents: {residents:,}, doses: {len(dose_resident):,}, districts: {DISTRICTS}, "
        f"age groups: {len(coverage.GROUPS)}"
    )
    print(
        f"vectorised coverage: {vector:.2f} s (target 2 s); per-row loop: {naive:.2f} s; "
        f"ratio {naive / vector:.1f}x; identical: {same}"
    )


def _district_path(district: int) -> str:
    return f"/43/4302/4302{district + 2:02d}/"


def _load_city(
    session: Session,
    births: np.ndarray,
    districts: np.ndarray,
    dose_resident: np.ndarray,
    dose_number: np.ndarray,
    dose_product: np.ndarray,
) -> None:
    """Persons (id = index + 1) and their doses, written as plain tuples in one transaction."""
    stamp = bulk.timestamp(session=session, moment=NOW)
    paths = [_district_path(d) for d in range(DISTRICTS)]
    born = np.datetime_as_string(births, unit="D").tolist()
    none4 = (None, None, None, None)
    person_rows = (
        (
            n + 1,
            None,
            paths[d],
            *none4,
            f"居民{n}",
            None,
            b,
            *none4,
            0,
            "active",
            None,
            stamp,
            stamp,
        )
        for n, (d, b) in enumerate(zip(districts.tolist(), born, strict=True))
    )
    given = (date(2021, 3, 1) + timedelta(days=40 * k) for k in range(8))
    days = list(given)
    dose_rows = (
        (r + 1, p, k, days[k], "接种点", None, "csv", stamp)
        for r, k, p in zip(
            dose_resident.tolist(), dose_number.tolist(), dose_product.tolist(), strict=True
        )
    )
    columns = "person_id, product, dose_number, administered_on, site, lot_number, source, "
    columns += "recorded_at"
    tables = [Person.__table__, DoseRecord.__table__]
    with (
        bulk.bulk_settings(session=session),
        bulk.indexes_built_afterwards(
            session=session,
            tables=tables,  # type: ignore[arg-type]
        ),
    ):
        bulk.write_rows(session=session, table="person", rows=person_rows)
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        if bulk.dialect(session) == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY dose_record ({columns}) FROM STDIN") as copy,
            ):
                for row in dose_rows:
                    copy.write_row(row)
        else:
            cursor = raw.cursor()
            cursor.executemany(
                f"INSERT INTO dose_record ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((*row[:3], row[3].isoformat(), *row[4:]) for row in dose_rows),
            )
    bulk.finish(session=session, tables=["person"])
    if bulk.dialect(session) == "postgresql":  # bulk.finish knows the registry's tables only
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('dose_record', 'id'), "
                "(SELECT MAX(id) FROM dose_record) + 1, false)"
            )
        )
        session.execute(text("ANALYZE dose_record"))
    session.commit()


def _columns_then_arrays(session: Session, on: date) -> dict[tuple[str, int], list[int]]:
    """The baseline, the path coverage took before levels were stored: every active resident's
    columns and every dose row read from the database (raw DB-API cursor, no ORM), then the
    array functions (``coverage.levels_from_doses``, ``ages_on``, ``count``)."""
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    cursor.execute("SELECT id, birth_date, area_path FROM person WHERE status = 'active'")
    ids, births, paths = zip(*cursor.fetchall(), strict=True)
    cursor.execute("SELECT person_id, dose_number, product FROM dose_record")
    dose_person, dose_number, dose_product = zip(*cursor.fetchall(), strict=True)
    cursor.close()
    person_ids = np.asarray(ids, dtype=np.int64)
    index = np.full(int(person_ids.max()) + 1, -1, dtype=np.int64)
    index[person_ids] = np.arange(len(person_ids))
    doses = index[np.asarray(dose_person, dtype=np.int64)]
    kept = doses >= 0
    districts = [_district_path(d) for d in range(DISTRICTS)]
    area = np.asarray([districts.index(p) for p in paths], dtype=np.int64)
    counts = coverage.count(
        ages=coverage.ages_on(np.asarray(births, dtype="datetime64[D]"), on),
        areas=area,
        levels=coverage.levels_from_doses(
            resident_count=len(person_ids),
            dose_resident=doses[kept],
            dose_number=np.asarray(dose_number, dtype=np.int64)[kept],
            dose_product=np.asarray(dose_product, dtype=str)[kept],
        ),
        area_count=DISTRICTS,
    )
    return _cells(counts)


def _cells(counts: coverage.CoverageCounts) -> dict[tuple[str, int], list[int]]:
    return {
        (str(group), d): [int(counts.population[g, d]), *map(int, counts.reached[g, d])]
        for g, group in enumerate(coverage.GROUPS)
        for d in range(DISTRICTS)
        if counts.population[g, d]
    }


@contextmanager
def _database(url: str | None, postgres_admin: str | None) -> Iterator[str]:
    """A fresh database: a SQLite file in a temporary folder, or a PostgreSQL database created
    through ``postgres_admin`` and dropped afterwards (or ``url`` as given, emptied after)."""
    if postgres_admin is not None:
        import psycopg

        name = f"fangkong_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_admin, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = postgres_admin.rsplit("/", 1)[0]
            yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        finally:
            with psycopg.connect(postgres_admin, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    with tempfile.TemporaryDirectory() as folder:
        yield url or f"sqlite:///{Path(folder) / 'coverage.db'}"


def bench_coverage_from_database(
    residents: int, url: str | None, postgres_admin: str | None, repeats: int = 3
) -> None:
    on = date(2022, 11, 20)
    births, districts, dose_resident, dose_number, dose_product = synthesise(residents)
    want = _cells(
        coverage.count(
            ages=coverage.ages_on(births, on),
            areas=districts,
            levels=coverage.levels_from_doses(
                resident_count=residents,
                dose_resident=dose_resident,
                dose_number=dose_number,
                dose_product=dose_product,
            ),
            area_count=DISTRICTS,
        )
    )
    actor = Actor(
        user_id=0,
        username="bench",
        role=Role.COMMAND_CENTRE,
        permissions=frozenset({Permission.VACCINATION_VIEW}),
        jurisdiction_path="/43/4302/",
    )
    with _database(url, postgres_admin) as database_url:
        migrate.upgrade(database_url)
        engine = create_db_engine(database_url)
        dialect = engine.dialect.name
        factory = sessionmaker(bind=engine)
        started = time.perf_counter()
        with factory() as session:
            _load_city(session, births, districts, dose_resident, dose_number, dose_product)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        with factory() as session:
            levels.rebuild(session=session)
            session.commit()
        rebuilt = time.perf_counter() - started
        if dialect == "postgresql":
            # Autovacuum's job after a bulk load and a rewrite of most rows, done now so the
            # index-only scan is measured as it runs on a settled table.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
                raw.execute(text("VACUUM ANALYZE person"))
        served: list[float] = []
        cpu: list[float] = []
        tables = []
        for _ in range(repeats + 1):
            with factory() as session:
                started, cpu_started = time.perf_counter(), time.process_time()
                tables.append(
                    vaccination_service.coverage_table(
                        session=session, actor=actor, on=on, by=AreaLevel.COUNTY
                    )
                )
                served.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        with factory() as session:
            started = time.perf_counter()
            baseline_table = _columns_then_arrays(session, on)
            baseline = time.perf_counter() - started
        if url is not None and dialect == "postgresql":  # leave a given database as it was
            with factory() as session:
                session.execute(delete(DoseRecord))
                session.execute(delete(Person))
                session.commit()
        engine.dispose()
    for table in tables:
        got = {
            (row.age_group, int(row.area_path.split("/")[3][4:]) - 2): [
                row.population,
                row.first_dose,
                row.full_course,
                row.booster,
            ]
            for row in table
        }
        assert got == want, "the service's table differs from the array path"
    assert baseline_table == want, "the baseline differs from the array path"
    best = min(served[1:]) if repeats else served[0]
    print(
        f"from the database ({dialect}): {residents:,} residents, {len(dose_resident):,} doses "
        f"bulk-loaded in {loaded:.1f} s; levels rebuilt in {rebuilt:.1f} s (neither timed below)"
    )
    if dialect == "sqlite":  # SQLite runs in this process: its CPU time is the query's
        print(
            "CPU time of those calls (what they would take on an idle core): "
            + ", ".join(f"{t:.2f} s" for t in cpu)
        )
    print(
        f"service.coverage_table end to end: first {served[0]:.2f} s, best of {repeats} "
        f"{best:.2f} s (target 2 s); baseline, columns and dose rows read then counted in "
        f"arrays: {baseline:.2f} s; ratio {baseline / best:.1f}x (first call: "
        f"{baseline / served[0]:.1f}x); identical to the array path: True"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=10_000)
    parser.add_argument("--baseline-passes", type=int, default=1_000)
    parser.add_argument("--residents", type=int, default=4_000_000)
    parser.add_argument("--from-database", action="store_true", help="only the database path")
    parser.add_argument("--database-residents", type=int, default=200_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--fresh-postgres",
        default=None,
        metavar="ADMIN_URL",
        help="create a fresh PostgreSQL database through this URL and drop it afterwards",
    )
    arguments = parser.parse_args()
    if not arguments.from_database:
        bench_passes(arguments.passes, arguments.baseline_passes)
        bench_coverage(arguments.residents)
    bench_coverage_from_database(
        arguments.database_residents, arguments.database_url, arguments.fresh_postgres
    )


if __name__ == "__main__":
    main()
