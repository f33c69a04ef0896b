"""Area tree queries and the loader for the official division table."""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.errors import NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.registry.enums import AreaLevel
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import Area, Person, Venue

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
