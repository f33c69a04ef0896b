"""Loading a generated city with the bulk loader, on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import lru_cache

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import Conflict
from fangkong.registry import bulk
from fangkong.registry.identity import id_number_lookup_keys
from fangkong.registry.models import (
    Area,
    Building,
    Compound,
    Household,
    Person,
    Venue,
    Workplace,
)
from fangkong.sim.city import people
from fangkong.sim.city.errors import CityErrorCode
from fangkong.sim.city.generator import City, generate
from fangkong.sim.city.load import load_city


@lru_cache
def small_city() -> City:
    return generate(population=2_000, seed=5)


def _count(session: Session, model: type[object], *where: object) -> int:
    return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def _table_counts(session: Session) -> dict[str, int]:
    return {
        table: int(session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())  # noqa: S608
        for table in bulk.TABLE_COLUMNS
    }


def test_it_loads_exactly_the_generated_rows(session: Session) -> None:
    city = small_city()
    before = _table_counts(session)

    loaded = load_city(session=session, city=city, cipher=get_cipher())
    session.flush()

    expected = city.counts()
    assert _count(session, Area, Area.level == "community") == expected["community"]
    assert _count(session, Area, Area.level == "grid") == expected["grid"]
    assert _count(session, Compound) - before["compound"] == expected["compound"]
    assert _count(session, Building) - before["building"] == expected["building"]
    assert _count(session, Household) - before["household"] == expected["household"]
    assert _count(session, Person) - before["person"] == 2_000
    assert _count(session, Workplace) - before["workplace"] == expected["workplace"]
    assert _count(session, Venue) - before["venue"] == expected["venue"]
    assert loaded.counts["user_account"] == expected["grid_worker"]
    grid_workers = session.execute(
        text(
            "SELECT COUNT(*) FROM user_account"
            " WHERE role = 'grid_worker' AND jurisdiction_path LIKE '/43/4302/%'"
        )
    ).scalar_one()
    assert grid_workers - before["user_account"] >= expected["grid"]


def test_it_finds_a_generated_person_by_id_number_through_the_blind_index(session: Session) -> None:
    city = small_city()
    loaded = load_city(session=session, city=city, cipher=get_cipher())
    cipher = get_cipher()
    index = 1_234
    id_number = people.id_numbers(city.people.id_first_17[index : index + 1])[0]

    found = session.scalars(
        select(Person).where(Person.id_number_index.in_(id_number_lookup_keys(cipher, id_number)))
    ).one()

    assert found.id == loaded.first_ids["person"] + index
    assert found.name == people.full_names(city.people, slice(index, index + 1))[0]
    assert cipher.decrypt(found.id_number_encrypted, context="person.id_number") == id_number
    assert found.id_number_masked == id_number[:6] + "********" + id_number[-4:]
    assert found.birth_date is not None
    assert found.birth_date.strftime("%Y%m%d") == id_number[6:14]
    assert found.area_path.startswith(f"/43/4302/{id_number[:6].replace('430221', '430212')}/")


def test_it_writes_one_audit_event_for_the_generation(session: Session) -> None:
    load_city(session=session, city=small_city(), cipher=get_cipher())

    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "city.generate")).one()
    assert event.subject_id == "4302"
    assert event.after is not None
    assert event.after["population"] == 2_000
    assert event.after["seed"] == 5


def test_it_refuses_to_load_a_second_city_and_changes_nothing(session: Session) -> None:
    load_city(session=session, city=small_city(), cipher=get_cipher())
    before = _table_counts(session)

    with pytest.raises(Conflict) as refused:
        load_city(session=session, city=generate(population=2_000, seed=6), cipher=get_cipher())

    assert refused.value.code is CityErrorCode.CITY_EXISTS
    assert _table_counts(session) == before


def test_it_applies_bulk_settings_only_for_the_load(session: Session, backend: str) -> None:
    connection = session.connection()
    setting = "PRAGMA cache_size" if backend == "sqlite" else "SHOW maintenance_work_mem"
    before = connection.exec_driver_sql(setting).scalar()

    with bulk.bulk_settings(session=session):
        during = connection.exec_driver_sql(setting).scalar()

    # SQLite gets its previous value back at once; PostgreSQL's SET LOCAL lasts until the
    # transaction ends, which this test's never-committed transaction cannot show.
    assert during == (-262144 if backend == "sqlite" else "512MB")
    if backend == "sqlite":
        assert connection.exec_driver_sql(setting).scalar() == before
    else:
        assert before != during


def test_it_refuses_to_bulk_load_an_unknown_table(session: Session) -> None:
    with pytest.raises(ValueError, match="not supported"):
        bulk.write_rows(session=session, table="person; DROP TABLE area", rows=[])
