"""The area tree: the official divisions, the communities and grids users create below them,
and the counts of households and residents inside any subtree.

The official tree (province → township) comes from the division table; below it users create
communities and grids (places below them are in ``places.py``). Every function checks that the
area lies inside the caller's jurisdiction and records an audit event for every change.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.registry import events, rules
from fangkong.registry.enums import AreaLevel, PersonStatus, PersonTag
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import Area, Building, Compound, Household, Person, Venue

Code = RegistryErrorCode

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
    stmt = select(Area).where(within_path(Area.path, path), Area.level == level).order_by(Area.code)
    return list(session.scalars(stmt))


def count_by_level(*, session: Session, under_path: str) -> dict[str, int]:
    stmt = (
        select(Area.level, func.count())
        .where(within_path(Area.path, under_path))
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


def required_name(value: str, field: str = "name") -> str:
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
    name = required_name(name)
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


@dataclass(frozen=True)
class AreaCounts:
    households: int
    residents: int
    by_tag: dict[str, int]


def _active_under(path: str):  # type: ignore[no-untyped-def]
    return within_path(Person.area_path, path) & (Person.status == PersonStatus.ACTIVE)


def counts_under(*, session: Session, path: str) -> AreaCounts:
    """Households, active residents and residents per tag inside the subtree at ``path``: two
    queries, the tag counts being sums over one scan of the subtree's persons."""
    households = session.scalar(select(func.count()).where(within_path(Household.area_path, path)))
    tags = [tag for tag in PersonTag if tag.name]
    row = session.execute(
        select(
            func.count(),
            *(func.sum(case((Person.tags.op("&")(int(tag)) != 0, 1), else_=0)) for tag in tags),
        ).where(_active_under(path))
    ).one()
    by_tag = {str(tag.name): int(value or 0) for tag, value in zip(tags, row[1:], strict=True)}
    return AreaCounts(int(households or 0), int(row[0] or 0), by_tag)


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
        .where(within_path(Household.area_path, parent_path))
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


def get_area(*, session: Session, area_id: int) -> Area | None:
    return session.get(Area, area_id)


def get_compound(*, session: Session, compound_id: int) -> Compound | None:
    return session.get(Compound, compound_id)


def get_building(*, session: Session, building_id: int) -> Building | None:
    return session.get(Building, building_id)


def get_person(*, session: Session, person_id: int) -> Person | None:
    """A person by id, for other domains to read (they never write registry rows)."""
    return session.get(Person, person_id)


def existing_person_ids(*, session: Session, ids: Collection[int]) -> set[int]:
    """Which of ``ids`` name a person in the registry (for validating records that cite them)."""
    found: set[int] = set()
    wanted = sorted(set(ids))
    # Chunked: one IN list per 1,000 ids keeps under every driver's parameter limit.
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found.update(session.scalars(select(Person.id).where(Person.id.in_(chunk))))
    return found


def venue_paths(*, session: Session, ids: Collection[int]) -> dict[int, str]:
    """The area path of each of ``ids`` that names a venue (a place with a place code); ids
    with no venue are absent."""
    found: dict[int, str] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        rows = session.execute(select(Venue.id, Venue.area_path).where(Venue.id.in_(chunk)))
        found.update((venue_id, path) for venue_id, path in rows.tuples())
    return found
