"""When a case and the people around them were separated: read from isolation's orders and
transfers (read-only), so that contact finding caps each exposure at the separation
(:func:`fangkong.tracing.rules.exposure_until`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.isolation.enums import OrderStatus, TransferKind
from fangkong.isolation.models import IsolationOrder, TransferStop, TransferTask
from fangkong.registry.models import Person
from fangkong.tracing.models import Case
from fangkong.tracing.rules import Evidence, Whereabouts, exposure_until

# Keeps each IN (...) list well under SQLite's limit on bound parameters.
CHUNK = 2000


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def whereabouts_of(
    *, session: Session, person_ids: Collection[int], case: Case
) -> dict[int, Whereabouts]:
    """Where each person is kept, and since when. An active order whose person a transfer took
    to their room puts them in that room from the pick-up; any other active order (home
    isolation, or a facility order still waiting for its room or its transfer) keeps them at
    home from the order's start. The case, under no order, is in hospital from a pick-up after
    its report. Everyone else lives freely at home."""
    ids = sorted(set(person_ids))
    homes: dict[int, int | None] = {}
    orders: dict[int, tuple[int, int | None, datetime]] = {}
    for chunk in _chunks(ids):
        homes.update(
            session.execute(select(Person.id, Person.household_id).where(Person.id.in_(chunk)))
            .tuples()
            .all()
        )
        for order_id, person_id, room_id, created_at in session.execute(
            select(
                IsolationOrder.id,
                IsolationOrder.person_id,
                IsolationOrder.room_id,
                IsolationOrder.created_at,
            ).where(
                IsolationOrder.person_id.in_(chunk),
                IsolationOrder.status == str(OrderStatus.ACTIVE),
            )
        ).tuples():
            orders[person_id] = (order_id, room_id, created_at)
    in_room = [order_id for order_id, room_id, _ in orders.values() if room_id is not None]
    picked_up: dict[int | None, datetime | None] = {}
    for chunk in _chunks(in_room):
        picked_up.update(
            session.execute(
                select(TransferStop.order_id, func.max(TransferTask.picked_up_at))
                .join(TransferTask, TransferTask.id == TransferStop.task_id)
                .where(
                    TransferStop.order_id.in_(chunk),
                    TransferTask.picked_up_at.is_not(None),
                )
                .group_by(TransferStop.order_id)
            )
            .tuples()
            .all()
        )
    where: dict[int, Whereabouts] = {}
    for person_id in ids:
        home = f"home:{homes[person_id]}" if homes.get(person_id) is not None else None
        if person_id not in orders:
            where[person_id] = Whereabouts(place=home)
            continue
        order_id, room_id, created_at = orders[person_id]
        moved_in = picked_up.get(order_id)
        if room_id is not None and moved_in is not None:
            where[person_id] = Whereabouts(since=moved_in, place=f"room:{room_id}")
        else:
            where[person_id] = Whereabouts(since=created_at, place=home)
    if case.person_id in ids and case.person_id not in orders:
        taken = session.scalar(
            select(func.min(TransferTask.picked_up_at))
            .join(TransferStop, TransferStop.task_id == TransferTask.id)
            .where(
                TransferStop.person_id == case.person_id,
                TransferTask.kind == str(TransferKind.POSITIVE),
                TransferTask.picked_up_at >= case.reported_at,
            )
        )
        if taken is not None:
            where[case.person_id] = Whereabouts(since=taken, place=f"hospital:{case.person_id}")
    return where


def cap_at_separation(
    *, session: Session, case: Case, evidence: Sequence[Evidence]
) -> list[Evidence]:
    """``evidence`` with each exposure capped at the moment the person and the case were
    separated (see :func:`fangkong.tracing.rules.exposure_until`)."""
    if not evidence:
        return []
    where = whereabouts_of(
        session=session,
        person_ids={item.person_id for item in evidence} | {case.person_id},
        case=case,
    )
    of_case = where[case.person_id]
    capped = []
    for item in evidence:
        at = exposure_until(item.at, contact=where[item.person_id], case=of_case)
        capped.append(item if at == item.at else replace(item, at=at))
    return capped
