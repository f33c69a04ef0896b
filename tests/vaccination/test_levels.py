"""``person.vaccination_level`` stays equal to what the dose rows give, whichever path wrote
them (imports, bulk inserts, corrections, the rebuild, the migration's backfill), and coverage
counted from it equals the array path on the synthetic city."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.core.audit import AuditEvent
from fangkong.core.crypto import get_cipher
from fangkong.core.scope import Actor
from fangkong.registry.enums import AreaLevel
from fangkong.registry.models import Person
from fangkong.sim.city.generator import generate
from fangkong.sim.city.load import load_city
from fangkong.vaccination import formats, levels, rules, service
from fangkong.vaccination.enums import DoseSource
from fangkong.vaccination.models import DoseRecord
from fangkong.vaccination.products import PRODUCTS
from tests.city import City
from tests.personas import LUSONG, Personas
from tests.vaccination.test_coverage_database import array_counts

NOW = datetime(2022, 11, 20, 2, 0, tzinfo=UTC)
HEADER = "id_number,product,dose_number,administered_on,site,lot_number\n"
MIGRATION = next(
    (Path(__file__).parents[2] / "src/fangkong/db/migrations/versions").glob(
        "*-vaccination_level_per_person.py"
    )
)


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[clock.ManualClock]:
    with clock.use_clock(clock.ManualClock(NOW)) as manual:
        yield manual


def recorder(personas: Personas) -> Actor:
    return actor_for(personas.user("lusong-health", Role.DISTRICT_OFFICER, LUSONG))


def from_doses(session: Session) -> dict[int, int]:
    """Every person's level recomputed from the dose rows with the pure rule."""
    highest: dict[int, int] = {}
    first: dict[int, str] = {}
    for person_id, number, product in session.execute(
        select(DoseRecord.person_id, DoseRecord.dose_number, DoseRecord.product)
    ).tuples():
        highest[person_id] = max(highest.get(person_id, 0), number)
        if number == 1:
            first[person_id] = product
    return {
        person_id: int(
            rules.level_for(
                highest_dose=highest.get(person_id, 0), first_product=first.get(person_id)
            )
        )
        for person_id in session.scalars(select(Person.id))
    }


def stored(session: Session) -> dict[int, int]:
    session.expire_all()
    return dict(session.execute(select(Person.id, Person.vaccination_level)).tuples().all())


def import_csv(session: Session, actor: Actor, lines: list[str]) -> None:
    doses, problems = formats.parse_csv((HEADER + "\n".join(lines)).encode())
    service.import_doses(
        session=session,
        actor=actor,
        cipher=get_cipher(),
        doses=doses,
        problems=problems,
        source=DoseSource.CSV,
    )


def test_imports_keep_each_level_equal_to_the_doses(session: Session, personas: Personas) -> None:
    city = City(session)
    actor = recorder(personas)
    one, two, single, three, none = (city.person() for _ in range(5))
    ids = city.id_numbers

    import_csv(
        session,
        actor,
        [
            f"{ids[one.id]},510,1,2021-04-01,建宁社区,",
            f"{ids[two.id]},510,1,2021-04-01,建宁社区,",
            f"{ids[two.id]},510,2,2021-05-01,建宁社区,",
            f"{ids[single.id]},506,1,2021-05-01,建宁社区,",
            f"{ids[three.id]},507,1,2021-04-01,建宁社区,",
            f"{ids[three.id]},507,2,2021-05-01,建宁社区,",
            f"{ids[none.id]},510,2,2021-05-01,建宁社区,",  # refused: out of sequence
        ],
    )
    after_csv = stored(session)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Immunization",
                    "status": "completed",
                    "patient": {"identifier": {"value": ids[person.id]}},
                    "vaccineCode": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]
                    },
                    "occurrenceDateTime": day,
                    "protocolApplied": [{"doseNumberPositiveInt": number}],
                }
            }
            for person, cvx, number, day in (
                (two, "510", 3, "2021-11-01"),
                (three, "507", 3, "2021-06-01"),
                (single, "510", 2, "2021-11-01"),
            )
        ],
    }
    fhir_doses, problems = formats.parse_fhir(json.dumps(bundle).encode())
    service.import_doses(
        session=session,
        actor=actor,
        cipher=get_cipher(),
        doses=fhir_doses,
        problems=problems,
        source=DoseSource.FHIR,
    )

    assert [after_csv[p.id] for p in (one, two, single, three, none)] == [1, 2, 2, 1, 0]
    assert [stored(session)[p.id] for p in (one, two, single, three, none)] == [1, 3, 3, 2, 0]
    assert stored(session) == from_doses(session)
    assert service.status_for(session=session, person_id=two.id).level == 3


def test_a_correction_and_a_bulk_insert_refresh_the_levels(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    actor = recorder(personas)
    kept, emptied, bulk = city.person(), city.person(), city.person()
    ids = city.id_numbers
    import_csv(
        session,
        actor,
        [
            f"{ids[kept.id]},511,1,2021-04-01,建宁社区,",
            f"{ids[kept.id]},511,2,2021-05-01,建宁社区,",
            f"{ids[kept.id]},511,3,2021-11-01,建宁社区,",
            f"{ids[emptied.id]},511,1,2021-04-01,建宁社区,",
        ],
    )
    assert [stored(session)[p.id] for p in (kept, emptied, bulk)] == [3, 1, 0]

    session.execute(
        delete(DoseRecord).where(DoseRecord.person_id == kept.id, DoseRecord.dose_number == 3)
    )
    session.execute(delete(DoseRecord).where(DoseRecord.person_id == emptied.id))
    session.execute(
        insert(DoseRecord),
        [
            {
                "person_id": bulk.id,
                "product": "506",
                "dose_number": 1,
                "administered_on": date(2021, 6, 1),
                "site": "接种点",
                "lot_number": None,
                "source": "manual",
                "recorded_at": NOW,
            }
        ],
    )
    levels.refresh(session=session, person_ids=[kept.id, emptied.id, bulk.id])

    assert [stored(session)[p.id] for p in (kept, emptied, bulk)] == [2, 0, 2]
    assert stored(session) == from_doses(session)


def test_the_rebuild_repairs_every_level_and_is_audited(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    actor = recorder(personas)
    people = [city.person() for _ in range(4)]
    import_csv(
        session,
        actor,
        [f"{city.id_numbers[p.id]},510,1,2021-04-01,建宁社区," for p in people[:3]],
    )
    session.execute(update(Person).where(Person.id == people[0].id).values(vaccination_level=3))
    session.execute(update(Person).where(Person.id == people[3].id).values(vaccination_level=2))
    session.execute(update(Person).where(Person.id == people[1].id).values(vaccination_level=0))

    changed = levels.rebuild(session=session)
    unchanged = levels.rebuild(session=session)

    assert (changed, unchanged) == (3, 0)
    assert [stored(session)[p.id] for p in people] == [1, 1, 1, 0]
    assert stored(session) == from_doses(session)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "vaccination.levels_rebuilt")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.after for e in events] == [{"changed": 3}, {"changed": 0}]


def test_the_migration_backfill_gives_the_same_levels(session: Session, personas: Personas) -> None:
    city = City(session)
    actor = recorder(personas)
    people = [city.person() for _ in range(len(PRODUCTS) * 4)]
    lines = []
    for n, person in enumerate(people):
        product = PRODUCTS[n % len(PRODUCTS)].cvx
        for number in range(1, n // len(PRODUCTS) + 1):
            lines.append(f"{city.id_numbers[person.id]},{product},{number},2021-0{number}-15,x,")
    import_csv(session, actor, lines)
    expected = stored(session)
    spec = importlib.util.spec_from_file_location("backfill", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    session.execute(update(Person).values(vaccination_level=0))

    session.execute(text(migration._BACKFILL))

    assert stored(session) == expected == from_doses(session)
    assert sorted({expected[p.id] for p in people}) == [0, 1, 2, 3]


@pytest.mark.parametrize("by", [AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.GRID])
def test_coverage_on_the_synthetic_city_equals_the_array_path(
    session: Session, personas: Personas, by: AreaLevel
) -> None:
    loaded = load_city(
        session=session, city=generate(population=2_000, seed=5), cipher=get_cipher()
    )
    first = loaded.first_ids["person"]
    rng = np.random.default_rng(11)
    rows = []
    for person_id in range(first, first + 2_000):
        product = PRODUCTS[int(rng.integers(0, len(PRODUCTS)))].cvx
        for number in range(1, int(rng.choice(5, p=[0.1, 0.1, 0.3, 0.45, 0.05])) + 1):
            rows.append(
                {
                    "person_id": person_id,
                    "product": product,
                    "dose_number": number,
                    "administered_on": date(2021, 3, 1) + timedelta(days=40 * number),
                    "site": "接种点",
                    "lot_number": None,
                    "source": "manual",
                    "recorded_at": NOW,
                }
            )
    session.execute(insert(DoseRecord), rows)
    levels.refresh(session=session, person_ids=range(first, first + 2_000))
    on = date(2022, 11, 20)
    city_wide = actor_for(personas.user("zhuzhou-cdc", Role.COMMAND_CENTRE, "4302"))
    district = recorder(personas)

    everywhere = service.coverage_table(session=session, actor=city_wide, on=on, by=by)
    lusong = service.coverage_table(session=session, actor=district, on=on, by=by)

    def cells(table: list[object]) -> dict[tuple[str, str], list[int]]:
        return {
            (r.area_path, r.age_group): [r.population, r.first_dose, r.full_course, r.booster]  # type: ignore[attr-defined]
            for r in table
        }

    assert cells(everywhere) == array_counts(session, by, on=on, under="/43/4302/")  # type: ignore[arg-type]
    assert cells(lusong) == array_counts(session, by, on=on, under="/43/4302/430203/")  # type: ignore[arg-type]
    assert sum(r.population for r in lusong) > 0
    assert sum(r.population for r in everywhere) > sum(r.population for r in lusong)
    assert stored(session) == from_doses(session)
