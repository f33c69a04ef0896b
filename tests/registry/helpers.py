"""Building blocks for registry tests: valid ID numbers and a small community to live in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.core.scope import Actor
from fangkong.registry import places, service
from fangkong.registry.models import Area, Building, Compound, Household
from fangkong.registry.rules import resident_id_check_character
from tests.personas import JIANNING, Personas

COMMUNITY = "430203003001"
GRID = "430203003001001"
OTHER_GRID = "430203003001002"


def resident_id(region: str = "430203", born: str = "19900307", sequence: str = "123") -> str:
    """A valid 18-character resident ID (sequence odd → male)."""
    first_17 = region + born + sequence
    return first_17 + resident_id_check_character(first_17)


def actor_of(personas: Personas, role: Role, area_code: str, username: str) -> Actor:
    return accounts_service.actor_for(personas.user(username, role, area_code))


@dataclass
class Place:
    community: Area
    grid: Area
    other_grid: Area
    compound: Compound
    building: Building
    household: Household
    editor: Actor


def make_place(session: Session, personas: Personas) -> Place:
    """建宁街道 → 社区 430203003001 → two grids → 小区 → 3栋 (2 units × 6 floors) → 302."""
    editor = actor_of(personas, Role.GRID_WORKER, JIANNING, "jianning-grid")
    community = service.create_community(
        session=session, actor=editor, township_code=JIANNING, code=COMMUNITY, name="建宁社区"
    )
    grid = service.create_grid(
        session=session, actor=editor, community_code=COMMUNITY, code=GRID, name="第一网格"
    )
    other = service.create_grid(
        session=session, actor=editor, community_code=COMMUNITY, code=OTHER_GRID, name="第二网格"
    )
    compound = places.create_compound(
        session=session, actor=editor, community_code=COMMUNITY, name="芦淞花园"
    )
    building = places.create_building(
        session=session,
        actor=editor,
        compound_id=compound.id,
        grid_code=GRID,
        label="3栋",
        units=2,
        floors=6,
    )
    household = places.create_household(
        session=session, actor=editor, building_id=building.id, unit=1, floor=3, room="302"
    )
    return Place(community, grid, other, compound, building, household, editor)
