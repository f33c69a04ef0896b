"""Places below the community: compounds (小区), buildings (楼栋) and households (户).

Every function checks that the place lies inside the caller's jurisdiction and records an audit
event for every change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor
from fangkong.registry import events
from fangkong.registry.enums import AreaLevel
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import Area, Building, Compound, Household
from fangkong.registry.service import get_by_code, get_in_jurisdiction, required_name

Code = RegistryErrorCode
MAX_UNITS = 20
MAX_FLOORS = 120


def create_compound(
    *,
    session: Session,
    actor: Actor,
    community_code: str,
    name: str,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Compound:
    """Create a residential compound (小区) in a community; names are unique per community."""
    actor.require(Permission.REGISTRY_EDIT)
    community = get_in_jurisdiction(session=session, actor=actor, code=community_code)
    if community.level != AreaLevel.COMMUNITY:
        raise FangkongError(
            Code.AREA_PARENT_WRONG_LEVEL, "a compound belongs to a community", field="community"
        )
    name = required_name(name)
    taken = session.scalar(
        select(Compound.id).where(Compound.community_id == community.id, Compound.name == name)
    )
    if taken is not None:
        raise Conflict(Code.COMPOUND_NAME_TAKEN, f"{name} already exists here", field="name")
    compound = Compound(
        community_id=community.id,
        name=name,
        area_path=community.path,
        latitude=latitude,
        longitude=longitude,
    )
    session.add(compound)
    session.flush()
    events.created(
        session=session,
        actor=actor,
        action=events.COMPOUND_CREATED,
        subject_type="compound",
        subject_id=compound.id,
        after={"name": name, "community": community.code},
    )
    return compound


def get_compound_or_raise(*, session: Session, actor: Actor, compound_id: int) -> Compound:
    compound = session.get(Compound, compound_id)
    if compound is None:
        raise NotFound(Code.COMPOUND_NOT_FOUND, f"no compound {compound_id}", field="compound_id")
    actor.require_path(compound.area_path)
    return compound


def compound_of(*, session: Session, building: Building) -> Compound:
    """A building's compound. No jurisdiction check: whoever may see the building may see the
    name of its compound, even when their jurisdiction is one grid of the community."""
    compound = session.get(Compound, building.compound_id)
    assert compound is not None  # a foreign key guarantees it
    return compound


def find_compound(*, session: Session, community_path: str, name: str) -> Compound | None:
    stmt = select(Compound).where(Compound.area_path == community_path, Compound.name == name)
    return session.scalars(stmt).one_or_none()


def create_building(
    *,
    session: Session,
    actor: Actor,
    compound_id: int,
    grid_code: str,
    label: str,
    units: int,
    floors: int,
) -> Building:
    """Create a building (楼栋) of a compound, assigned to one grid of the same community."""
    actor.require(Permission.REGISTRY_EDIT)
    compound = get_compound_or_raise(session=session, actor=actor, compound_id=compound_id)
    grid = get_by_code(session=session, code=grid_code)
    if grid is None:
        raise NotFound(Code.AREA_NOT_FOUND, f"no grid with code {grid_code}", field="grid_code")
    if grid.level != AreaLevel.GRID or not grid.path.startswith(compound.area_path):
        raise FangkongError(
            Code.GRID_NOT_IN_COMMUNITY,
            "the grid must be a grid of the compound's community",
            field="grid_code",
        )
    actor.require_path(grid.path)
    label = required_name(label, "label")
    if not (1 <= units <= MAX_UNITS and 1 <= floors <= MAX_FLOORS):
        raise FangkongError(
            Code.BUILDING_SIZE_INVALID,
            f"a building has 1–{MAX_UNITS} units and 1–{MAX_FLOORS} floors",
            field="units" if not 1 <= units <= MAX_UNITS else "floors",
        )
    taken = session.scalar(
        select(Building.id).where(Building.compound_id == compound.id, Building.label == label)
    )
    if taken is not None:
        raise Conflict(Code.BUILDING_LABEL_TAKEN, f"{label} already exists here", field="label")
    building = Building(
        compound_id=compound.id,
        grid_id=grid.id,
        area_path=grid.path,
        label=label,
        units=units,
        floors=floors,
    )
    session.add(building)
    session.flush()
    events.created(
        session=session,
        actor=actor,
        action=events.BUILDING_CREATED,
        subject_type="building",
        subject_id=building.id,
        after={"compound": compound.name, "label": label, "units": units, "floors": floors},
    )
    return building


def get_building_or_raise(*, session: Session, actor: Actor, building_id: int) -> Building:
    building = session.get(Building, building_id)
    if building is None:
        raise NotFound(Code.BUILDING_NOT_FOUND, f"no building {building_id}", field="building_id")
    actor.require_path(building.area_path)
    return building


def find_building(*, session: Session, compound_id: int, label: str) -> Building | None:
    stmt = select(Building).where(Building.compound_id == compound_id, Building.label == label)
    return session.scalars(stmt).one_or_none()


def create_household(
    *, session: Session, actor: Actor, building_id: int, unit: int, floor: int, room: str
) -> Household:
    """Create a household (户) at a room; a room number is unique within its unit."""
    actor.require(Permission.REGISTRY_EDIT)
    building = get_building_or_raise(session=session, actor=actor, building_id=building_id)
    problem = household_problem(building=building, unit=unit, floor=floor, room=room)
    if problem is not None:
        raise FangkongError(problem[0], problem[1], field=problem[2])
    room = room.strip()
    if find_household(session=session, building_id=building.id, unit=unit, room=room):
        raise Conflict(Code.HOUSEHOLD_TAKEN, f"room {room} is already registered", field="room")
    household = Household(
        building_id=building.id, unit=unit, floor=floor, room=room, area_path=building.area_path
    )
    session.add(household)
    session.flush()
    events.created(
        session=session,
        actor=actor,
        action=events.HOUSEHOLD_CREATED,
        subject_type="household",
        subject_id=household.id,
        after={"building": building.id, "unit": unit, "floor": floor, "room": room},
    )
    return household


def household_problem(
    *, building: Building, unit: int, floor: int, room: str
) -> tuple[Code, str, str] | None:
    """Why a household cannot be at this unit/floor/room of ``building`` (code, message, field)."""
    if not 1 <= unit <= building.units:
        return Code.UNIT_OUT_OF_RANGE, f"this building has units 1–{building.units}", "unit"
    if not 1 <= floor <= building.floors:
        return Code.FLOOR_OUT_OF_RANGE, f"this building has floors 1–{building.floors}", "floor"
    if not room.strip() or len(room.strip()) > 16:
        return Code.ROOM_INVALID, "a room number has 1–16 characters", "room"
    return None


def find_household(*, session: Session, building_id: int, unit: int, room: str) -> Household | None:
    stmt = select(Household).where(
        Household.building_id == building_id, Household.unit == unit, Household.room == room
    )
    return session.scalars(stmt).one_or_none()


def get_household_or_raise(*, session: Session, actor: Actor, household_id: int) -> Household:
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound(
            Code.HOUSEHOLD_NOT_FOUND, f"no household {household_id}", field="household_id"
        )
    actor.require_path(household.area_path)
    return household


def list_compounds(*, session: Session, community: Area) -> list[Compound]:
    return list(
        session.scalars(
            select(Compound).where(Compound.community_id == community.id).order_by(Compound.name)
        )
    )


def list_buildings(
    *, session: Session, compound_id: int | None = None, grid_id: int | None = None
) -> list[Building]:
    stmt = select(Building).order_by(Building.compound_id, Building.label)
    if compound_id is not None:
        stmt = stmt.where(Building.compound_id == compound_id)
    if grid_id is not None:
        stmt = stmt.where(Building.grid_id == grid_id)
    return list(session.scalars(stmt))


def list_households(*, session: Session, building_id: int) -> list[Household]:
    stmt = (
        select(Household)
        .where(Household.building_id == building_id)
        .order_by(Household.unit, Household.floor, Household.room)
    )
    return list(session.scalars(stmt))
