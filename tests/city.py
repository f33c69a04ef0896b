"""A small synthetic neighbourhood for domain tests: grids, buildings, households, residents.

The registry's own services for these are being built elsewhere; until then the tests write
the registry tables directly, through the same identity protection the registry uses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.crypto import get_cipher
from fangkong.registry.identity import protect_id_number
from fangkong.registry.models import Area, Building, Compound, Household, Person
from fangkong.registry.rules import resident_id_check_character
from tests.personas import JIANNING

CREATED = datetime(2022, 11, 1, tzinfo=UTC)
_sequence = count(1)


def resident_id(birth: date, sequence: int) -> str:
    first_17 = f"430203{birth:%Y%m%d}{sequence % 1000:03d}"
    return first_17 + resident_id_check_character(first_17)


class City:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.id_numbers: dict[int, str] = {}
        self.compounds_made = 0

    def area(self, code: str, level: str, parent_code: str) -> Area:
        existing = self.session.scalars(select(Area).where(Area.code == code)).one_or_none()
        if existing is not None:
            return existing
        parent = self.session.scalars(select(Area).where(Area.code == parent_code)).one()
        area = Area(
            code=code, name=code, level=level, parent_id=parent.id, path=f"{parent.path}{code}/"
        )
        self.session.add(area)
        self.session.flush()
        return area

    def grid(self, number: int = 1) -> Area:
        community = self.area(f"{JIANNING}001", "community", JIANNING)
        return self.area(f"{community.code}{number:03d}", "grid", community.code)

    def building(self, grid: Area | None = None, label: str = "1栋") -> Building:
        grid = grid or self.grid()
        # A compound per building: compound names are unique within a community, and callers
        # may ask for several buildings with the same label.
        self.compounds_made += 1
        name = f"枫溪小区{self.compounds_made}期"
        compound = Compound(community_id=grid.parent_id, name=name, area_path=grid.path)
        self.session.add(compound)
        self.session.flush()
        building = Building(
            compound_id=compound.id,
            grid_id=grid.id,
            area_path=grid.path,
            label=label,
            units=2,
            floors=6,
        )
        self.session.add(building)
        self.session.flush()
        return building

    def household(self, building: Building | None = None, room: str = "101") -> Household:
        building = building or self.building()
        household = Household(
            building_id=building.id, unit=1, floor=1, room=room, area_path=building.area_path
        )
        self.session.add(household)
        self.session.flush()
        return household

    def person(
        self,
        household: Household | None = None,
        *,
        born: date = date(1980, 5, 17),
        tags: int = 0,
        name: str | None = None,
        area_path: str | None = None,
    ) -> Person:
        sequence = next(_sequence)
        id_number = resident_id(born, sequence)
        identity = protect_id_number(get_cipher(), id_number)
        person = Person(
            household_id=household.id if household else None,
            area_path=area_path or (household.area_path if household else self.grid().path),
            document_type="resident_id",
            id_number_encrypted=identity.encrypted,
            id_number_index=identity.index,
            id_number_masked=identity.masked,
            name=name or f"居民{sequence}",
            sex="M",
            birth_date=born,
            tags=tags,
            status="active",
            created_at=CREATED,
            updated_at=CREATED,
        )
        self.session.add(person)
        self.session.flush()
        self.id_numbers[person.id] = id_number
        return person
