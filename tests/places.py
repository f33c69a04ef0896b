"""Minimal registry rows for tests of domains that read places and people (areas, isolation).

The division tree stops at townships, so compounds hang directly under a township
(建宁街道 in 芦淞区 unless another township code is given).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.registry import service as registry_service
from fangkong.registry.models import Area, Building, Compound, Household, Person

CREATED = datetime(2022, 11, 1, tzinfo=UTC)


def area(session: Session, code: str) -> Area:
    return registry_service.get_by_code_or_raise(session=session, code=code)


def compound(session: Session, name: str, township_code: str = "430203003") -> Compound:
    township = area(session, township_code)
    row = Compound(community_id=township.id, name=name, area_path=township.path)
    session.add(row)
    session.flush()
    return row


def building(session: Session, of: Compound, label: str, units: int = 3) -> Building:
    row = Building(
        compound_id=of.id,
        grid_id=of.community_id,
        area_path=of.area_path,
        label=label,
        units=units,
        floors=6,
    )
    session.add(row)
    session.flush()
    return row


def household(session: Session, of: Building, room: str = "302") -> Household:
    row = Household(building_id=of.id, unit=1, floor=3, room=room, area_path=of.area_path)
    session.add(row)
    session.flush()
    return row


def person(
    session: Session,
    name: str,
    *,
    at: Household | None = None,
    area_path: str | None = None,
    tags: int = 0,
    birth_date: date | None = date(1980, 1, 1),
) -> Person:
    path = at.area_path if at is not None else area_path
    assert path is not None
    row = Person(
        household_id=at.id if at is not None else None,
        area_path=path,
        document_type="resident_id",
        id_number_encrypted=f"test:{name}",
        id_number_index=f"index:{name}",
        id_number_masked="4302**********0000",
        name=name,
        birth_date=birth_date,
        tags=tags,
        status="active",
        created_at=CREATED,
        updated_at=CREATED,
    )
    session.add(row)
    session.flush()
    return row
