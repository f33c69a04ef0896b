"""Area browser counts: households and residents per child area.

The area page shows, for every child of an area, how many households and residents it holds.
The design (``service.counts_by_child``) answers with two grouped queries over the parent's
subtree, grouping rows by the prefix of their path that names the child; the baseline is the
obvious loop, two counting queries per child. Both run here on one SQLite file: Hunan's
divisions plus, in one street (建宁街道), 30 communities × 8 grids × 10 buildings of households
and residents. Prints both medians and the ratio.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service
from fangkong.registry.models import Area, Building, Compound, Household, Person

TOWNSHIP = "430203003"
COMMUNITIES = 30
GRIDS = 8
BUILDINGS_PER_GRID = 10
HOUSEHOLDS_PER_BUILDING = 24
PERSONS_PER_HOUSEHOLD = 2
REPEATS = 15


def build(session: Session) -> None:
    service.load_divisions(session=session)
    township = session.scalars(select(Area).where(Area.code == TOWNSHIP)).one()
    now = datetime.now(UTC)
    for c in range(1, COMMUNITIES + 1):
        code = f"{TOWNSHIP}{c:03d}"
        community = Area(
            code=code,
            name=code,
            level="community",
            parent_id=township.id,
            path=f"{township.path}{code}/",
        )
        session.add(community)
        session.flush()
        compound = Compound(community_id=community.id, name=f"小区{c}", area_path=community.path)
        session.add(compound)
        session.flush()
        for g in range(1, GRIDS + 1):
            grid_code = f"{code}{g:03d}"
            grid = Area(
                code=grid_code,
                name=grid_code,
                level="grid",
                parent_id=community.id,
                path=f"{community.path}{grid_code}/",
            )
            session.add(grid)
            session.flush()
            for b in range(BUILDINGS_PER_GRID):
                building = Building(
                    compound_id=compound.id,
                    grid_id=grid.id,
                    area_path=grid.path,
                    label=f"{g}-{b}栋",
                    units=2,
                    floors=12,
                )
                session.add(building)
                session.flush()
                ids = session.scalars(
                    insert(Household).returning(Household.id),
                    [
                        {
                            "building_id": building.id,
                            "unit": 1 + h % 2,
                            "floor": 1 + h // 2,
                            "room": f"{1 + h // 2}0{1 + h % 2}",
                            "area_path": grid.path,
                        }
                        for h in range(HOUSEHOLDS_PER_BUILDING)
                    ],
                ).all()
                session.execute(
                    insert(Person),
                    [
                        {
                            "household_id": household_id,
                            "area_path": grid.path,
                            "name": f"居民{household_id}-{p}",
                            "tags": p % 3,
                            "status": "active",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for household_id in ids
                        for p in range(PERSONS_PER_HOUSEHOLD)
                    ],
                )


def per_child(session: Session, children: list[Area]) -> dict[str, tuple[int, int]]:
    """The baseline: two counting queries per child."""
    result = {}
    for child in children:
        households = session.scalar(
            select(func.count()).where(Household.area_path.startswith(child.path, autoescape=True))
        )
        residents = session.scalar(
            select(func.count()).where(
                Person.area_path.startswith(child.path, autoescape=True), Person.status == "active"
            )
        )
        result[child.path] = (int(households or 0), int(residents or 0))
    return result


def median_ms(run: object, repeats: int = REPEATS) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        engine = create_db_engine(url)
        factory = sessionmaker(bind=engine)
        with session_scope(factory) as session:
            build(session)
        with factory() as session:
            children = list(
                session.scalars(
                    select(Area).where(
                        Area.path.startswith(f"/43/4302/430203/{TOWNSHIP}/"),
                        Area.level == "community",
                    )
                )
            )
            persons = session.scalar(select(func.count()).select_from(Person))
            design = service.counts_by_child(session=session, children=children)
            baseline = per_child(session, children)
            assert design == baseline, "the two methods disagree"
            grouped = median_ms(lambda: service.counts_by_child(session=session, children=children))
            looped = median_ms(lambda: per_child(session, children))
        engine.dispose()
    print(f"{len(children)} communities, {persons} residents, SQLite, median of {REPEATS}")
    print(f"grouped by path prefix (design): {grouped:.1f} ms")
    print(f"two queries per child (baseline): {looped:.1f} ms")
    print(f"ratio: {looped / grouped:.1f}x faster")


if __name__ == "__main__":
    main()
