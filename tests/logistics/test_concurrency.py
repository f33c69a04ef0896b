"""抢单: 50 volunteers press "claim" on the same task at the same moment; exactly one wins.

Runs on PostgreSQL with real commits (the per-test rollback fixture cannot show concurrency),
each claimer in its own thread with its own session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.models import User
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.db import migrate
from fangkong.db.session import create_db_engine
from fangkong.logistics import service
from fangkong.logistics.enums import TaskStatus
from fangkong.logistics.models import DeliveryTask, Volunteer
from fangkong.registry.models import Area, Building, Compound

CLAIMERS = 50
NOW = datetime(2022, 11, 12, 2, 0, tzinfo=UTC)
GRID_PATH = "/43/"


def _seed(session: Session) -> tuple[int, list[int]]:
    grid = Area(code="43", name="湖南省", level="province", parent_id=None, path=GRID_PATH)
    session.add(grid)
    session.flush()
    compound = Compound(community_id=grid.id, name="小区", area_path=GRID_PATH)
    session.add(compound)
    session.flush()
    building = Building(
        compound_id=compound.id,
        grid_id=grid.id,
        area_path=GRID_PATH,
        label="1栋",
        units=1,
        floors=6,
    )
    session.add(building)
    session.flush()
    user_ids = []
    for n in range(CLAIMERS):
        user = User(
            username=f"vol-{n}",
            display_name=f"vol-{n}",
            role="volunteer",
            password_hash="-",
            jurisdiction_path=GRID_PATH,
            is_active=True,
            created_at=NOW,
        )
        session.add(user)
        session.flush()
        session.add(
            Volunteer(
                user_id=user.id,
                name=f"vol-{n}",
                skills=[],
                area_path=GRID_PATH,
                availability="full_day",
                status="active",
                minutes_worked=0,
                registered_at=NOW,
            )
        )
        user_ids.append(user.id)
    task = DeliveryTask(
        building_id=building.id,
        area_path=GRID_PATH,
        status=TaskStatus.OPEN,
        priority=0,
        created_at=NOW,
    )
    session.add(task)
    session.commit()
    return task.id, user_ids


def test_it_gives_a_task_to_exactly_one_of_fifty_simultaneous_claimers(
    fresh_database_url: Callable[[str], str],
) -> None:
    url = fresh_database_url("postgresql")
    migrate.upgrade(url)
    engine = create_db_engine(url, pool_size=CLAIMERS, max_overflow=0)
    with Session(engine) as session:
        task_id, user_ids = _seed(session)
    start = threading.Barrier(CLAIMERS)
    outcomes: dict[int, str] = {}

    def claim(user_id: int) -> None:
        actor = Actor(
            user_id=user_id,
            username=f"u{user_id}",
            role="volunteer",
            permissions=frozenset({"logistics.claim"}),
            jurisdiction_path=GRID_PATH,
        )
        with Session(engine) as session:
            session.execute(select(1))  # take the connection before the race starts
            start.wait()
            try:
                service.claim_task(session=session, actor=actor, task_id=task_id)
                session.commit()
                outcomes[user_id] = "won"
            except FangkongError as refusal:
                session.rollback()
                outcomes[user_id] = str(refusal.code)

    threads = [threading.Thread(target=claim, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [user_id for user_id, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == CLAIMERS
    assert len(winners) == 1
    assert sorted(set(outcomes.values())) == ["logistics.task_already_claimed", "won"]
    with Session(engine) as session:
        task = session.get(DeliveryTask, task_id)
        assert task is not None
        winner = session.scalar(select(Volunteer.user_id).where(Volunteer.id == task.volunteer_id))
        assert (task.status, winner) == ("claimed", winners[0])
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "logistics.task_claimed")
            )
            == 1
        )
    engine.dispose()
