"""The coverage table counted by the database equals the array path's counts on the same people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.registry.enums import AreaLevel
from fangkong.registry.models import Person
from fangkong.vaccination import coverage, levels, rules, service
from fangkong.vaccination.models import DoseRecord
from fangkong.vaccination.products import PRODUCTS
from tests.city import City
from tests.personas import LUSONG, Personas

ON = date(2024, 2, 29)  # a leap day: birthdays on 29 February and on the cut-offs are tested
RECORDED = datetime(2024, 2, 1, tzinfo=UTC)


def population(session: Session, city: City) -> None:
    """60 residents over two grids with birth dates on and around every age-group boundary
    and 0–4 doses of varying products; one with a dose 2 but no dose 1; one moved away."""
    rng = np.random.default_rng(8)
    grids = [city.grid(1).path, city.grid(2).path]
    births = [date(ON.year - years, 2, 28) for years in (3, 12, 18, 60, 70, 80)]
    births += [date(ON.year - years, 3, 1) for years in (3, 12, 18, 60, 70, 80)]
    births += [date(ON.year - years, 2, 29) for years in (4, 12, 20, 60, 72, 80)]
    births += [date(2023, 5, 1), date(1921, 1, 1)]
    births += [ON - timedelta(days=int(d)) for d in rng.integers(0, 95 * 365, 42)]
    for n, born in enumerate(births):
        person = city.person(born=born, area_path=grids[n % 2])
        product = PRODUCTS[n % len(PRODUCTS)].cvx
        for number in range(1, int(rng.integers(0, 5)) + 1):
            session.add(
                DoseRecord(
                    person_id=person.id,
                    product=product,
                    dose_number=number,
                    administered_on=date(2021, number, 10),
                    site="建宁社区",
                    lot_number=None,
                    source="csv",
                    recorded_at=RECORDED,
                )
            )
    gap = city.person(born=date(1990, 1, 1), area_path=grids[0])
    session.add(
        DoseRecord(
            person_id=gap.id,
            product=PRODUCTS[0].cvx,
            dose_number=2,
            administered_on=date(2021, 6, 1),
            site="建宁社区",
            lot_number=None,
            source="csv",
            recorded_at=RECORDED,
        )
    )
    city.person(born=date(1950, 1, 1), area_path=grids[1]).status = "moved_away"
    session.flush()
    levels.refresh(session=session, person_ids=session.scalars(select(Person.id)).all())


def array_counts(
    session: Session, by: AreaLevel, on: date = ON, under: str = "/"
) -> dict[tuple[str, str], list[int]]:
    """What the array functions count from the residents' columns and their dose rows (the
    path coverage took before levels were stored), for the residents under ``under``."""
    people = session.execute(
        select(Person.id, Person.birth_date, Person.area_path).where(
            Person.status == "active", Person.area_path.startswith(under)
        )
    ).all()
    ids = np.array([p.id for p in people])
    index = {person_id: n for n, person_id in enumerate(ids.tolist())}
    doses = [
        dose
        for dose in session.execute(
            select(DoseRecord.person_id, DoseRecord.dose_number, DoseRecord.product)
        )
        if dose.person_id in index
    ]
    depth = list(AreaLevel).index(by) + 1
    keys = sorted({"/" + "/".join(p.area_path.strip("/").split("/")[:depth]) + "/" for p in people})
    counts = coverage.count(
        ages=coverage.ages_on(np.array([p.birth_date for p in people], "datetime64[D]"), on),
        areas=np.array(
            [
                keys.index("/" + "/".join(p.area_path.strip("/").split("/")[:depth]) + "/")
                for p in people
            ]
        ),
        levels=coverage.levels_from_doses(
            resident_count=len(ids),
            dose_resident=np.array([index[d.person_id] for d in doses], dtype=np.int64),
            dose_number=np.array([d.dose_number for d in doses], dtype=np.int64),
            dose_product=np.array([d.product for d in doses], dtype=str),
        ),
        area_count=len(keys),
    )
    return {
        (key, str(group)): [int(counts.population[g, a]), *map(int, counts.reached[g, a])]
        for g, group in enumerate(coverage.GROUPS)
        for a, key in enumerate(keys)
        if counts.population[g, a]
    }


@pytest.mark.parametrize("by", [AreaLevel.COUNTY, AreaLevel.GRID])
def test_the_database_counts_equal_the_array_counts(
    session: Session, personas: Personas, by: AreaLevel
) -> None:
    actor = actor_for(personas.user("lusong-health", Role.DISTRICT_OFFICER, LUSONG))
    population(session, City(session))

    table = service.coverage_table(session=session, actor=actor, on=ON, by=by)

    got = {
        (r.area_path, r.age_group): [r.population, r.first_dose, r.full_course, r.booster]
        for r in table
    }
    assert got == array_counts(session, by)
    eligible = [
        born
        for born, status in session.execute(select(Person.birth_date, Person.status))
        if status == "active" and rules.age_on(born, ON) >= 3
    ]
    assert sum(r.population for r in table) == len(eligible)
    assert len(table) == (6 if by is AreaLevel.COUNTY else 12)
