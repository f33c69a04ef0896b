"""Whitelist passes and vaccination coverage at city scale, each against a per-row baseline run
in the same process.

1. Issue 10,000 whitelist cards through the real service (signed tokens, stored rows, one audit
   event, commit) and print their PDF sheet, on a fresh SQLite file. Baseline: issuing passes
   one request per person (a row, an audit event and a commit each), on 1,000 people.
2. Coverage by age group and district for a city of 4,000,000 residents from synthesised birth
   dates and dose table (~2.4 doses per resident), with the array code the service runs after
   reading the columns (``coverage.ages_on``, ``levels_from_doses``,
   ``count``). Baseline: the pure rules (``rules.age_on``, ``level_for``, ``age_group``) applied
   row by row to the same arrays. Reading the columns from the database is not in this figure.

Run: ``.venv/bin/python bench/bench_enterprise.py [--passes 10000] [--residents 4000000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.config import Settings
from fangkong.core.crypto import get_cipher
from fangkong.core.scope import Actor
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.enterprise import actions, passes, service
from fangkong.enterprise.enums import ApplicationStatus
from fangkong.enterprise.rules import credit_code_check_character
from fangkong.enterprise.schemas import EnterpriseCreate, PlanFields, WhitelistIssue
from fangkong.registry import service as registry_service
from fangkong.registry.identity import protect_id_number
from fangkong.registry.models import Person
from fangkong.registry.rules import resident_id_check_character
from fangkong.vaccination import coverage, rules
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=10_000)
    parser.add_argument("--baseline-passes", type=int, default=1_000)
    parser.add_argument("--residents", type=int, default=4_000_000)
    arguments = parser.parse_args()
    bench_passes(arguments.passes, arguments.baseline_passes)
    bench_coverage(arguments.residents)


if __name__ == "__main__":
    main()
