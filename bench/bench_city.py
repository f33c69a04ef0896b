"""Benchmark: generate the synthetic Zhuzhou and bulk-load it into PostgreSQL and SQLite.

Run: ``.venv/bin/python bench/bench_city.py`` (``FANGKONG_BENCH_POPULATION``, default
4,000,000). For each backend it prints the wall time of generate + load against the target,
persons/s of the bulk loader, the ratio against row-at-a-time ORM inserts measured on a sample
in the same run, and the p50/p99 of a person lookup by ID number through the blind index.
PostgreSQL runs in a fresh database that is dropped afterwards; SQLite in ``var/bench/``.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.crypto import get_cipher
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.registry import bulk
from fangkong.registry import service as registry_service
from fangkong.registry.identity import id_number_lookup_keys, protect_id_number, protect_phone
from fangkong.registry.models import Person
from fangkong.sim.city import people
from fangkong.sim.city.generator import City, generate
from fangkong.sim.city.load import load_city

ADMIN_URL = os.environ.get(
    "FANGKONG_BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TARGET_SECONDS = {"postgresql": 300.0, "sqlite": 240.0}  # for TARGET_POPULATION residents
TARGET_POPULATION = 4_000_000
ORM_SAMPLE = 20_000
LOOKUPS = 2_000
LOOKUP_P99_TARGET_MS = 5.0
SEED = 2022


@dataclass
class Figures:
    backend: str
    population: int
    load_seconds: float
    persons_per_second: float
    orm_persons_per_second: float
    lookup_p50_ms: float
    lookup_p99_ms: float
    cpu_seconds: float
    load_average: float


def postgres_url(name: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def prepare(url: str) -> None:
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with Session(engine) as session:
        registry_service.load_divisions(session=session)
        session.commit()
    engine.dispose()


def orm_persons_per_second(url: str, city: City) -> float:
    """Row-at-a-time ORM inserts (add + flush per person) of the first ``ORM_SAMPLE`` people,
    with the same encryption, into a fresh database: the baseline the bulk path is compared to."""
    prepare(url)
    engine = create_db_engine(url)
    cipher = get_cipher()
    sample = slice(0, min(ORM_SAMPLE, len(city.people)))
    ids = people.id_numbers(city.people.id_first_17[sample])
    names = people.full_names(city.people, sample)
    now = clock.now()
    started = time.perf_counter()
    with Session(engine) as session:
        for k, (id_number, name) in enumerate(zip(ids, names, strict=True)):
            ident = protect_id_number(cipher, id_number)
            phone = int(city.people.phone[k])
            protected_phone = protect_phone(cipher, str(phone)) if phone else None
            session.add(
                Person(
                    household_id=None,
                    area_path="/43/4302/",
                    document_type="resident_id",
                    id_number_encrypted=ident.encrypted,
                    id_number_index=ident.index,
                    id_number_masked=ident.masked,
                    name=name,
                    sex="M" if city.people.is_male[k] else "F",
                    birth_date=date(1970, 1, 1) + timedelta(days=int(city.people.birth_day[k])),
                    phone_encrypted=protected_phone.encrypted if protected_phone else None,
                    phone_index=protected_phone.index if protected_phone else None,
                    phone_masked=protected_phone.masked if protected_phone else None,
                    tags=int(city.people.tags[k]),
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
        session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(ids) / elapsed


def lookup_latencies_ms(url: str, city: City) -> list[float]:
    """Look up random generated people by ID number through the blind index, one query each."""
    engine = create_db_engine(url)
    cipher = get_cipher()
    rng = random.Random(SEED)
    picks = [rng.randrange(len(city.people)) for _ in range(LOOKUPS)]
    latencies = []
    with Session(engine) as session:
        for index in picks:
            id_number = people.id_numbers(city.people.id_first_17[index : index + 1])[0]
            started = time.perf_counter()
            found = session.scalars(
                select(Person.id).where(
                    Person.id_number_index.in_(id_number_lookup_keys(cipher, id_number))
                )
            ).one()
            latencies.append((time.perf_counter() - started) * 1000)
            assert found is not None
    engine.dispose()
    return latencies


def run_backend(backend: str, url: str, baseline_url: str, population: int) -> Figures:
    prepare(url)
    engine = create_db_engine(url)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    city = generate(population=population, seed=SEED)
    generated = time.perf_counter()
    executor = bulk.identity_executor(2)
    try:
        with Session(engine) as session:
            load_city(session=session, city=city, cipher=get_cipher(), executor=executor)
            session.commit()
    finally:
        executor.shutdown()
    finished = time.perf_counter()
    cpu = _cpu_seconds() - cpu_before
    load_average = os.getloadavg()[1]
    engine.dispose()
    total = finished - started
    print(
        f"[{backend}] generate {generated - started:.1f} s, load {finished - generated:.1f} s, "
        f"total {total:.1f} s",
        flush=True,
    )
    latencies = lookup_latencies_ms(url, city)
    orm_rate = orm_persons_per_second(baseline_url, city)
    quantiles = statistics.quantiles(latencies, n=100)
    return Figures(
        backend=backend,
        population=population,
        load_seconds=total,
        persons_per_second=population / (finished - generated),
        orm_persons_per_second=orm_rate,
        lookup_p50_ms=statistics.median(latencies),
        lookup_p99_ms=quantiles[98],
        cpu_seconds=cpu,
        load_average=load_average,
    )


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the encryption workers); the
    database server's own CPU is not included."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def report(figures: Figures) -> None:
    target = TARGET_SECONDS[figures.backend]
    ratio = figures.persons_per_second / figures.orm_persons_per_second
    verdict = "met" if figures.load_seconds <= target else "MISSED"
    lookup = "met" if figures.lookup_p99_ms <= LOOKUP_P99_TARGET_MS else "MISSED"
    if figures.population != TARGET_POPULATION:
        verdict = lookup = f"not judged (targets are for {TARGET_POPULATION:,} residents)"
    name = f"[{figures.backend}]"
    print(
        f"{name} generate+load  {figures.load_seconds:8.1f} s  target <= {target:.0f} s: {verdict}"
    )
    print(f"{name} bulk persons/s {figures.persons_per_second:10,.0f}")
    print(
        f"{name} client CPU     {figures.cpu_seconds:8.1f} s "
        f"(machine load average {figures.load_average:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"{name} ORM persons/s  {figures.orm_persons_per_second:10,.0f}  (sample {ORM_SAMPLE:,})")
    print(f"{name} bulk / ORM     {ratio:10.1f}x")
    print(
        f"{name} lookup by ID   p50 {figures.lookup_p50_ms:.2f} ms, "
        f"p99 {figures.lookup_p99_ms:.2f} ms  target p99 <= {LOOKUP_P99_TARGET_MS} ms: {lookup}"
    )


def main() -> None:
    population = int(os.environ.get("FANGKONG_BENCH_POPULATION", "4000000"))
    backends = os.environ.get("FANGKONG_BENCH_BACKENDS", "postgresql,sqlite").split(",")
    print(
        f"synthetic city: {population:,} residents, seed {SEED}, {os.cpu_count()} CPUs", flush=True
    )
    if "postgresql" in backends:
        names = [f"fangkong_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
        try:
            report(
                run_backend(
                    "postgresql", postgres_url(names[0]), postgres_url(names[1]), population
                )
            )
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if "sqlite" in backends:
        folder = Path(__file__).resolve().parents[1] / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        files = [folder / "city.db", folder / "city-orm.db"]
        for path in files:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        report(run_backend("sqlite", f"sqlite:///{files[0]}", f"sqlite:///{files[1]}", population))


if __name__ == "__main__":
    main()
