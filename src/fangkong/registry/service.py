"""The area tree and the places in it: communities, grids, compounds, buildings, households.

The official tree (province → township) comes from the division table; below it users create
communities, grids, compounds, buildings and households. Every function checks that the place
lies inside the caller's jurisdiction and records an audit event for every change.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.registry import events, rules
from fangkong.registry.enums import AreaLevel, PersonStatus, PersonTag
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import Area, Building, Compound, Household, Person

Code = RegistryErrorCode
MAX_UNITS = 20
MAX_FLOORS = 120

DIVISIONS_FILE = "hunan.csv"


@dataclass(frozen=True)
class DivisionsLoaded:
    inserted: int
    already_present: int


def divisions_path() -> Path:
    return Path(str(resources.files("fangkong.registry") / "data" / DIVISIONS_FILE))


def load_divisions(*, session: Session, csv_path: Path | None = None) -> DivisionsLoaded:
    """Load the official division table (province → township). Idempotent: codes already in
    the database are left as they are, so running it twice changes nothing."""
    source = csv_path or divisions_path()
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    existing = {
        code: (area_id, p)
        for code, area_id, p in session.execute(select(Area.code, Area.id, Area.path))
    }
    inserted = 0
    # Sorting by code length puts every parent before its children, which the loop relies on.
    rows.sort(key=lambda row: len(row["code"]))
    for row in rows:
        if row["code"] in existing:
            continue
        parent = existing.get(row["parent_code"]) if row["parent_code"] else None
        area = Area(
            code=row["code"],
            name=row["name"],
            level=AreaLevel(row["level"]).value,
            parent_id=parent[0] if parent else None,
            path=(parent[1] if parent else "/") + row["code"] + "/",
        )
        session.add(area)
        session.flush()
        existing[area.code] = (area.id, area.path)
        inserted += 1
    return DivisionsLoaded(inserted=inserted, already_present=len(rows) - inserted)


def get_by_code(*, session: Session, code: str) -> Area | None:
    return session.scalars(select(Area).where(Area.code == code)).one_or_none()


def get_by_code_or_raise(*, session: Session, code: str) -> Area:
    area = get_by_code(session=session, code=code)
    if area is None:
        raise NotFound(RegistryErrorCode.AREA_NOT_FOUND, f"no area with code {code}", field="code")
    return area


def get_by_path(*, session: Session, path: str) -> Area | None:
    return session.scalars(select(Area).where(Area.path == path)).one_or_none()


def list_children(*, session: Session, actor: Actor, parent_code: str | None) -> list[Area]:
    """Children of an area (the roots when ``parent_code`` is None), inside the jurisdiction."""
    stmt = select(Area).order_by(Area.code)
    if parent_code is None:
        stmt = stmt.where(Area.parent_id.is_(None))
    else:
        parent = get_by_code_or_raise(session=session, code=parent_code)
        stmt = stmt.where(Area.parent_id == parent.id)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Area.path)
    return list(session.scalars(stmt))


def list_under_level(*, session: Session, path: str, level: AreaLevel) -> list[Area]:
    """Areas of one level inside the subtree at ``path`` (e.g. the grids of a street)."""
    stmt = (
        select(Area)
        .where(Area.path.startswith(path, autoescape=True), Area.level == level)
        .order_by(Area.code)
    )
    return list(session.scalars(stmt))


def count_by_level(*, session: Session, under_path: str) -> dict[str, int]:
    stmt = (
        select(Area.level, func.count())
        .where(Area.path.startswith(under_path, autoescape=True))
        .group_by(Area.level)
    )
    return {level: count for level, count in session.execute(stmt).tuples()}


def trail(*, session: Session, area: Area, stop_at: str | None) -> list[Area]:
    """The breadcrumb from the jurisdiction root (``stop_at`` path) down to ``area``."""
    codes = [code for code in area.path.strip("/").split("/") if code]
    rows = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_(codes)))}
    crumbs = [rows[code] for code in codes if code in rows]
    if stop_at:
        crumbs = [a for a in crumbs if a.path.startswith(stop_at)]
    return crumbs


def get_in_jurisdiction(*, session: Session, actor: Actor, code: str) -> Area:
    """The area with ``code`` when the actor may see it (404, then 403 otherwise)."""
    area = get_by_code_or_raise(session=session, code=code)
    actor.require_path(area.path)
    return area


def _required_name(value: str, field: str = "name") -> str:
    value = value.strip()
    if not value:
        raise FangkongError(Code.NAME_REQUIRED, "a name is required", field=field)
    return value


def _create_child_area(
    *,
    session: Session,
    actor: Actor,
    parent_code: str,
    parent_level: AreaLevel,
    level: AreaLevel,
    code: str,
    name: str,
) -> Area:
    actor.require(Permission.REGISTRY_EDIT)
    parent = get_by_code(session=session, code=parent_code)
    if parent is None:
        raise NotFound(
            Code.AREA_PARENT_NOT_FOUND, f"no area with code {parent_code}", field="parent_code"
        )
    actor.require_path(parent.path)
    if parent.level != parent_level:
        raise FangkongError(
            Code.AREA_PARENT_WRONG_LEVEL,
            f"a {level} belongs to a {parent_level}, not a {parent.level}",
            field="parent_code",
        )
    code = code.strip()
    problem = rules.child_code_problem(parent.code, code, suffix_digits=3)
    if problem:
        raise FangkongError(Code.AREA_CODE_INVALID, problem, field="code")
    name = _required_name(name)
    if get_by_code(session=session, code=code) is not None:
        raise Conflict(Code.AREA_CODE_TAKEN, f"code {code} is already used", field="code")
    area = Area(
        code=code, name=name, level=str(level), parent_id=parent.id, path=f"{parent.path}{code}/"
    )
    session.add(area)
    session.flush()
    events.created(
        session=session,
        actor=actor,
        action=events.AREA_CREATED,
        subject_type="area",
        subject_id=area.code,
        after={"name": name, "level": str(level), "path": area.path},
    )
    return area


def create_community(
    *, session: Session, actor: Actor, township_code: str, code: str, name: str
) -> Area:
    """Create a community or village (社区/村) under a street or town, with its 12-digit code."""
    return _create_child_area(
        session=session,
        actor=actor,
        parent_code=township_code,
        parent_level=AreaLevel.TOWNSHIP,
        level=AreaLevel.COMMUNITY,
        code=code,
        name=name,
    )


def create_grid(
    *, session: Session, actor: Actor, community_code: str, code: str, name: str
) -> Area:
    """Create a grid cell (网格) inside a community; its code is the community's plus 3."""
    return _create_child_area(
        session=session,
        actor=actor,
        parent_code=community_code,
        parent_level=AreaLevel.COMMUNITY,
        level=AreaLevel.GRID,
        code=code,
        name=name,
    )


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
    name = _required_name(name)
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
    label = _required_name(label, "label")
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


@dataclass(frozen=True)
class AreaCounts:
    households: int
    residents: int
    by_tag: dict[str, int]


def _active_under(path: str):  # type: ignore[no-untyped-def]
    return Person.area_path.startswith(path, autoescape=True) & (
        Person.status == PersonStatus.ACTIVE
    )


def counts_under(*, session: Session, path: str) -> AreaCounts:
    """Households, active residents and residents per tag inside the subtree at ``path``."""
    households = session.scalar(
        select(func.count()).where(Household.area_path.startswith(path, autoescape=True))
    )
    residents = session.scalar(select(func.count()).where(_active_under(path)))
    by_tag = {}
    for tag in PersonTag:
        count = session.scalar(
            select(func.count()).where(_active_under(path), Person.tags.op("&")(int(tag)) != 0)
        )
        by_tag[str(tag.name)] = int(count or 0)
    return AreaCounts(int(households or 0), int(residents or 0), by_tag)


def counts_by_child(*, session: Session, children: list[Area]) -> dict[str, tuple[int, int]]:
    """(households, active residents) per child area, in two grouped queries.

    Children of one parent have codes of one length, so their paths have one length too and a
    row's child is the prefix of its path of that length.
    """
    if not children:
        return {}
    length = len(children[0].path)
    parent_path = children[0].path[: -len(children[0].code) - 1]
    result: dict[str, tuple[int, int]] = {child.path: (0, 0) for child in children}
    household_prefix = func.substr(Household.area_path, 1, length)
    for prefix, count in session.execute(
        select(household_prefix, func.count())
        .where(Household.area_path.startswith(parent_path, autoescape=True))
        .group_by(household_prefix)
    ).tuples():
        if prefix in result:
            result[prefix] = (int(count), result[prefix][1])
    person_prefix = func.substr(Person.area_path, 1, length)
    for prefix, count in session.execute(
        select(person_prefix, func.count())
        .where(_active_under(parent_path))
        .group_by(person_prefix)
    ).tuples():
        if prefix in result:
            result[prefix] = (result[prefix][0], int(count))
    return result
