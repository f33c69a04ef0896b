"""Jurisdiction scoping: materialised-path prefix vs a recursive walk of parent ids.

Every list in the platform is scoped to the caller's area subtree. The design is a range on the
materialised path (``'/43/4302/430203/' <= path < '/43/4302/4302030'``, on an index); the
baseline is the obvious alternative, a recursive CTE over ``parent_id``. Both run here on the
same SQLite tree: Hunan's real divisions plus a synthetic layer of communities and grids.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text

from fangkong.core.scope import within_path
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service
from fangkong.registry.models import Area

COMMUNITIES_PER_TOWNSHIP = 25
GRIDS_PER_COMMUNITY = 8
DISTRICT_PATH = "/43/4302/430203/"
REPEATS = 30

RECURSIVE = text(
    """
    WITH RECURSIVE subtree(id) AS (
        SELECT id FROM area WHERE code = :code
        UNION ALL
        SELECT area.id FROM area JOIN subtree ON area.parent_id = subtree.id
    )
    SELECT count(*) FROM subtree
    """
)


def build(url: str) -> None:
    migrate.upgrade(url)
    engine = create_db_engine(url)
    from sqlalchemy.orm import sessionmaker

    with session_scope(sessionmaker(bind=engine)) as session:
        service.load_divisions(session=session)
        townships = session.execute(
            select(Area.id, Area.code, Area.path).where(Area.level == "township")
        ).all()
        rows = []
        for township_id, code, path in townships:
            for c in range(COMMUNITIES_PER_TOWNSHIP):
                community_code = f"{code}{c:03d}"
                rows.append(
                    {
                        "code": community_code,
                        "name": community_code,
                        "level": "community",
                        "parent_id": township_id,
                        "path": f"{path}{community_code}/",
                    }
                )
        session.execute(Area.__table__.insert(), rows)
        communities = session.execute(
            select(Area.id, Area.code, Area.path).where(Area.level == "community")
        ).all()
        grids = [
            {
                "code": f"{code}G{g:02d}",
                "name": f"{code}G{g:02d}",
                "level": "grid",
                "parent_id": community_id,
                "path": f"{path}{code}G{g:02d}/",
            }
            for community_id, code, path in communities
            for g in range(GRIDS_PER_COMMUNITY)
        ]
        session.execute(Area.__table__.insert(), grids)
    engine.dispose()


def timed(run: object) -> tuple[float, int]:
    samples, result = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = run()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'scope.db'}"
        build(url)
        engine = create_db_engine(url)
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(Area))
            prefix = select(func.count()).where(within_path(Area.path, DISTRICT_PATH))
            path_time, path_count = timed(lambda: conn.scalar(prefix))
            walk_time, walk_count = timed(lambda: conn.scalar(RECURSIVE, {"code": "430203"}))
        engine.dispose()
    assert path_count == walk_count, (path_count, walk_count)
    print(f"areas in the tree: {total:,}; in 芦淞区's subtree: {path_count:,}")
    print(f"path prefix (design):     {path_time * 1000:8.2f} ms median of {REPEATS}")
    print(f"recursive CTE (baseline): {walk_time * 1000:8.2f} ms median of {REPEATS}")
    print(f"ratio baseline/design: {walk_time / path_time:.1f}x")


if __name__ == "__main__":
    main()
