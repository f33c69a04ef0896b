"""What a lab result does (docs/testing.md "What a result does"), applied set-based.

:func:`apply_results` takes every stored result not applied yet (optionally of one upload) and,
in a handful of ``INSERT … SELECT`` / ``UPDATE`` statements whatever the number of tubes:

1. records a :class:`TubeOutcome` per result, with the tube's turnaround (first sample → report);
2. sets each member's :class:`PersonTestStatus` in the tube's round: negative, ``resample``
   (invalid or inconclusive tube), ``pending_review`` (待复核, a positive pool) or ``positive``
   (a positive single tube); a positive stays positive, and an older sample never overrides a
   newer one;
3. orders a single-tube door-to-door re-sample for every member of a positive pool and of an
   invalid or inconclusive tube, and marks earlier orders done when the person's single-tube
   result arrives;
4. raises an :class:`Alert` for every positive tube, for the audiences the rule pack names;
5. where the pack enables it, flags the buildings of a positive pool's members to be sampled
   first in the open round;
6. recomputes the members' :class:`PersonTestSummary` rows (``testing.summary``).

Outcomes are unique per stored result, so applying again (or uploading the same file twice)
changes nothing. One audit event records each run, citing the pack's positive-pool rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.scope import Actor
from fangkong.registry.models import Household, Person
from fangkong.testing import rules, summary
from fangkong.testing.enums import (
    AlertKind,
    AlertStatus,
    CampaignStatus,
    LabResult,
    OrderStatus,
    PersonTestState,
    ResampleReason,
)
from fangkong.testing.models import (
    Alert,
    PersonTestStatus,
    ResampleOrder,
    SamplingPriority,
    TestCampaign,
    Tube,
    TubeMember,
    TubeOutcome,
    TubeResult,
)
from fangkong.testing.policies import policy_at
from fangkong.testing.section import PositivePoolPolicy
from fangkong.testing.sql import count_rows, insert_for, is_postgresql, seconds_between

OUTCOME_TABLE: Table = TubeOutcome.metadata.tables["tube_outcome"]
ORDER_TABLE: Table = TubeOutcome.metadata.tables["resample_order"]
ALERT_TABLE: Table = TubeOutcome.metadata.tables["testing_alert"]
UNREADABLE = (LabResult.INVALID.value, LabResult.INCONCLUSIVE.value)

# A person's standing from one tube, as a rank: the highest rank of a run wins for a person
# sampled twice in it.
RANK = {
    PersonTestState.NEGATIVE: 1,
    PersonTestState.RESAMPLE: 2,
    PersonTestState.PENDING_REVIEW: 3,
    PersonTestState.POSITIVE: 4,
}


@dataclass(frozen=True)
class EffectsReport:
    """What one run of :func:`apply_results` did."""

    run_id: str
    tubes: int
    negative_tubes: int
    positive_pools: int
    positive_singles: int
    unreadable_tubes: int
    statuses: int
    resample_orders: int
    orders_done: int
    alerts: int
    priority_buildings: int


def _of_run(run_id: str) -> Any:
    return select(TubeOutcome.id).where(TubeOutcome.run_id == run_id)


def apply_results(
    *,
    session: Session,
    actor: Actor | None,
    upload_id: int | None = None,
    policy: PositivePoolPolicy | None = None,
) -> EffectsReport:
    """Apply every stored result that has a tube and no outcome yet (of ``upload_id`` only when
    given), in the caller's transaction. ``actor`` None means the lab interface applied them."""
    now = clock.now()
    policy = policy or policy_at(now=now)
    run_id = uuid.uuid4().hex
    if is_postgresql(session):
        # A few big statements: compiling them with JIT costs more than it saves (this
        # transaction only).
        session.execute(text("SET LOCAL jit = off"))
        # Room to sort a whole round's members in memory rather than in temporary files.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    outcomes = _record_outcomes(session=session, run_id=run_id, now=now, upload_id=upload_id)
    if outcomes == 0:
        return EffectsReport(run_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    statuses = _set_statuses(session=session, run_id=run_id, now=now, tubes=outcomes)
    # The members' summaries see the new results later (see ``PersonTestSummaryBacklog``).
    summary.queue_results(session=session, run_id=run_id, now=now)
    done = _close_orders(session=session, run_id=run_id, now=now)
    orders = _order_resamples(session=session, run_id=run_id, now=now, policy=policy)
    alerts = _raise_alerts(session=session, run_id=run_id, now=now, policy=policy)
    buildings = (
        _flag_buildings(session=session, run_id=run_id, now=now, policy=policy)
        if policy.sample_building_first
        else 0
    )
    pooled = TubeOutcome.member_count > 1
    by_kind: dict[str, int] = {}
    for result, is_pool, count in session.execute(
        select(TubeOutcome.result, pooled, func.count())
        .where(TubeOutcome.run_id == run_id)
        .group_by(TubeOutcome.result, pooled)
    ).tuples():
        state = rules.tube_state(result=LabResult(result), member_count=2 if is_pool else 1)
        by_kind[state.value] = by_kind.get(state.value, 0) + count
    report = EffectsReport(
        run_id=run_id,
        tubes=outcomes,
        negative_tubes=by_kind.get(PersonTestState.NEGATIVE.value, 0),
        positive_pools=by_kind.get(PersonTestState.PENDING_REVIEW.value, 0),
        positive_singles=by_kind.get(PersonTestState.POSITIVE.value, 0),
        unreadable_tubes=by_kind.get(PersonTestState.RESAMPLE.value, 0),
        statuses=statuses,
        resample_orders=orders,
        orders_done=done,
        alerts=alerts,
        priority_buildings=buildings,
    )
    audit.record(
        session=session,
        actor=actor,
        action="testing.results_applied",
        subject_type="effects_run",
        subject_id=run_id,
        after={key: value for key, value in report.__dict__.items() if key != "run_id"}
        | {"upload_id": upload_id},
        rule_ref=policy.rule_ref,
        occurred_at=now,
    )
    return report


def _tube_state() -> ColumnElement[str]:
    """What a tube's outcome means for its members (a ``PersonTestState`` value)."""
    return case(
        (TubeOutcome.result == LabResult.NOT_DETECTED.value, PersonTestState.NEGATIVE.value),
        (TubeOutcome.result.in_(UNREADABLE), PersonTestState.RESAMPLE.value),
        (TubeOutcome.member_count > 1, PersonTestState.PENDING_REVIEW.value),
        else_=PersonTestState.POSITIVE.value,
    )


def _record_outcomes(*, session: Session, run_id: str, now: datetime, upload_id: int | None) -> int:
    # One grouped join of the pending results with their tubes' members (not a sub-select per
    # result): PostgreSQL hashes or merges a whole round in one pass and still uses the
    # tube_member index for a small upload. A tube with no member counts 0 and keeps the lab's
    # collection time.
    pending = (
        select(
            TubeResult.id.label("lab_result_id"),
            TubeResult.tube_id,
            Tube.campaign_id,
            Tube.area_path,
            TubeResult.result,
            func.count(TubeMember.id).label("member_count"),
            func.coalesce(func.min(TubeMember.sampled_at), TubeResult.collected_at).label(
                "sampled_at"
            ),
            TubeResult.reported_at.label("result_at"),
        )
        .join(Tube, Tube.id == TubeResult.tube_id)
        .outerjoin(TubeMember, TubeMember.tube_id == TubeResult.tube_id)
        .where(
            TubeResult.tube_id.is_not(None),
            ~exists().where(TubeOutcome.lab_result_id == TubeResult.id),
        )
        .group_by(
            TubeResult.id,
            TubeResult.tube_id,
            Tube.campaign_id,
            Tube.area_path,
            TubeResult.result,
            TubeResult.collected_at,
            TubeResult.reported_at,
        )
    )
    if upload_id is not None:
        pending = pending.where(TubeResult.upload_id == upload_id)
    # The turnaround is computed in the same statement: a second UPDATE of rows inserted in
    # this transaction would run their foreign-key checks again on PostgreSQL.
    rows = pending.subquery("pending")
    outcomes = select(
        rows.c.lab_result_id,
        rows.c.tube_id,
        rows.c.campaign_id,
        rows.c.area_path,
        rows.c.result,
        rows.c.member_count,
        rows.c.sampled_at,
        rows.c.result_at,
        seconds_between(session, rows.c.result_at, rows.c.sampled_at),
        literal(run_id),
        literal(now, type_=OUTCOME_TABLE.c.applied_at.type),
    )
    columns = [
        "lab_result_id",
        "tube_id",
        "campaign_id",
        "area_path",
        "result",
        "member_count",
        "sampled_at",
        "result_at",
        "turnaround_seconds",
        "run_id",
        "applied_at",
    ]
    session.execute(insert(OUTCOME_TABLE).from_select(columns, outcomes))
    return count_rows(session, select(func.count()).where(TubeOutcome.run_id == run_id))


def _run_status_table() -> Table:
    """A temporary table of one run's new standing per person and round (dropped at the end of
    the run)."""
    columns = PersonTestStatus.__table__.c
    return Table(
        "effects_run_status",
        MetaData(),
        Column("person_id", columns.person_id.type, nullable=False),
        Column("campaign_id", columns.campaign_id.type, nullable=False),
        Column("status", columns.status.type, nullable=False),
        Column("tube_id", columns.tube_id.type),
        Column("last_sampled_at", columns.last_sampled_at.type, nullable=False),
        Column("result_at", columns.result_at.type),
        prefixes=["TEMPORARY"],
    )


# From this many tubes in a run, statistics are refreshed before the status statements (see
# _set_statuses); below it the planner's guess of a few hundred rows is about right.
ANALYZE_FROM_TUBES = 10_000


def _set_statuses(*, session: Session, run_id: str, now: datetime, tubes: int) -> int:
    large = is_postgresql(session) and tubes >= ANALYZE_FROM_TUBES
    if large:
        # The planner otherwise takes this run's outcomes, inserted a moment ago in this
        # transaction, for a few hundred rows, and spills the grouping of millions to disk.
        # (ANALYZE holds a lock that a concurrent large run waits for: runs that large are a
        # whole round's results and come one at a time.)
        session.execute(text("ANALYZE tube_outcome"))
    rank = case(*((_tube_state() == str(state), value) for state, value in RANK.items()))
    best = func.max(rank)
    per_person = (
        select(
            TubeMember.person_id,
            TubeOutcome.campaign_id,
            case(*((best == value, str(state)) for state, value in RANK.items())),
            func.max(TubeOutcome.tube_id),
            func.max(TubeMember.sampled_at),
            func.max(TubeOutcome.result_at),
        )
        .join(TubeMember, TubeMember.tube_id == TubeOutcome.tube_id)
        .where(TubeOutcome.run_id == run_id, TubeOutcome.campaign_id.is_not(None))
        .group_by(TubeMember.person_id, TubeOutcome.campaign_id)
    )
    # The run's standings go to a temporary table first, so that existing rows (the ``sampled``
    # status written at sealing) are changed by one UPDATE … FROM, a hash join, and only the
    # rest is inserted, in key order: a per-row ON CONFLICT probe in random order over
    # millions of rows was most of the run's time on PostgreSQL.
    run = _run_status_table()
    connection = session.connection()
    run.drop(connection, checkfirst=True)
    run.create(connection)
    columns = ["person_id", "campaign_id", "status", "tube_id", "last_sampled_at", "result_at"]
    session.execute(insert(run).from_select(columns, per_person))
    if large:
        session.execute(text("ANALYZE effects_run_status"))
    table = PersonTestStatus.__table__
    session.execute(
        update(PersonTestStatus)
        .where(
            PersonTestStatus.person_id == run.c.person_id,
            PersonTestStatus.campaign_id == run.c.campaign_id,
            PersonTestStatus.status != PersonTestState.POSITIVE.value,
            PersonTestStatus.last_sampled_at <= run.c.last_sampled_at,
        )
        .values(
            status=run.c.status,
            tube_id=run.c.tube_id,
            last_sampled_at=run.c.last_sampled_at,
            result_at=run.c.result_at,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    new_rows = (
        select(
            *(run.c[name] for name in columns),
            literal(now, type_=table.c.updated_at.type),
        )
        .where(
            ~exists().where(
                table.c.person_id == run.c.person_id, table.c.campaign_id == run.c.campaign_id
            )
        )
        .order_by(run.c.person_id, run.c.campaign_id)
    )
    statement = insert_for(session)(table).from_select([*columns, "updated_at"], new_rows)
    # A status written meanwhile by a sealing tube (``record_sampled``) is overridden as the
    # UPDATE above would have done.
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["person_id", "campaign_id"],
        set_={
            "status": excluded.status,
            "tube_id": excluded.tube_id,
            "last_sampled_at": excluded.last_sampled_at,
            "result_at": excluded.result_at,
            "updated_at": excluded.updated_at,
        },
        where=and_(
            table.c.status != PersonTestState.POSITIVE.value,
            table.c.last_sampled_at <= excluded.last_sampled_at,
        ),
    )
    session.execute(statement)
    run.drop(connection)
    return count_rows(
        session,
        select(func.coalesce(func.sum(TubeOutcome.member_count), 0)).where(
            TubeOutcome.run_id == run_id, TubeOutcome.campaign_id.is_not(None)
        ),
    )


def _close_orders(*, session: Session, run_id: str, now: datetime) -> int:
    """Open re-sample orders whose person now has a readable single-tube result sampled after
    the order: done, and the order's round takes that result (the re-test tube may belong to
    no round, or to another one)."""
    # Both steps are UPDATE … FROM a grouped join (one row per target), not a sub-select per
    # open order or per status row.
    open_order = ResampleOrder.__table__.alias("open_order")
    retests = (
        select(open_order.c.id.label("order_id"), func.min(TubeOutcome.id).label("outcome_id"))
        .join(
            TubeMember,
            and_(
                TubeMember.person_id == open_order.c.person_id,
                TubeMember.sampled_at >= open_order.c.created_at,
            ),
        )
        .join(TubeOutcome, TubeOutcome.tube_id == TubeMember.tube_id)
        .where(
            open_order.c.status == OrderStatus.OPEN.value,
            TubeOutcome.run_id == run_id,
            TubeOutcome.member_count == 1,
            TubeOutcome.result.in_([LabResult.DETECTED.value, LabResult.NOT_DETECTED.value]),
        )
        .group_by(open_order.c.id)
        .subquery("retests")
    )
    session.execute(
        update(ResampleOrder)
        .where(
            ResampleOrder.id == retests.c.order_id,
            ResampleOrder.status == OrderStatus.OPEN.value,
        )
        .values(status=OrderStatus.DONE.value, done_at=now, done_outcome_id=retests.c.outcome_id)
        .execution_options(synchronize_session=False)
    )
    done = count_rows(
        session,
        select(func.count()).where(ResampleOrder.done_outcome_id.in_(_of_run(run_id))),
    )
    if not done:
        return 0
    # Per person and round, the latest re-test of this run that closed one of its orders.
    outcome = TubeOutcome.__table__.alias("retest")
    member = TubeMember.__table__.alias("retest_member")
    latest = (
        select(
            ResampleOrder.person_id,
            ResampleOrder.campaign_id,
            func.max(outcome.c.id).label("outcome_id"),
        )
        .join(outcome, outcome.c.id == ResampleOrder.done_outcome_id)
        .where(outcome.c.run_id == run_id, ResampleOrder.campaign_id.is_not(None))
        .group_by(ResampleOrder.person_id, ResampleOrder.campaign_id)
        .subquery("latest")
    )
    finished = (
        select(
            latest.c.person_id,
            latest.c.campaign_id,
            outcome.c.result,
            outcome.c.tube_id,
            outcome.c.result_at,
            member.c.sampled_at,
        )
        .join(outcome, outcome.c.id == latest.c.outcome_id)
        .join(
            member,
            and_(member.c.tube_id == outcome.c.tube_id, member.c.person_id == latest.c.person_id),
        )
        .subquery("finished")
    )
    session.execute(
        update(PersonTestStatus)
        .where(
            PersonTestStatus.person_id == finished.c.person_id,
            PersonTestStatus.campaign_id == finished.c.campaign_id,
            PersonTestStatus.status != PersonTestState.POSITIVE.value,
        )
        .values(
            status=case(
                (finished.c.result == LabResult.DETECTED.value, PersonTestState.POSITIVE.value),
                else_=PersonTestState.NEGATIVE.value,
            ),
            tube_id=finished.c.tube_id,
            last_sampled_at=finished.c.sampled_at,
            result_at=finished.c.result_at,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return done


def _order_resamples(
    *, session: Session, run_id: str, now: datetime, policy: PositivePoolPolicy
) -> int:
    reason = case(
        (TubeOutcome.result == LabResult.INVALID.value, ResampleReason.INVALID.value),
        (TubeOutcome.result == LabResult.INCONCLUSIVE.value, ResampleReason.INCONCLUSIVE.value),
        else_=ResampleReason.POSITIVE_POOL.value,
    )
    wanted = (
        select(
            TubeMember.person_id,
            TubeOutcome.campaign_id,
            TubeOutcome.id,
            Person.area_path,
            reason,
            literal(OrderStatus.OPEN.value),
            literal(policy.rule_ref),
            literal(now, type_=ResampleOrder.__table__.c.created_at.type),
        )
        .join(TubeMember, TubeMember.tube_id == TubeOutcome.tube_id)
        .join(Person, Person.id == TubeMember.person_id)
        .where(
            TubeOutcome.run_id == run_id,
            (TubeOutcome.result.in_(UNREADABLE))
            | ((TubeOutcome.result == LabResult.DETECTED.value) & (TubeOutcome.member_count > 1)),
        )
    )
    columns = [
        "person_id",
        "campaign_id",
        "tube_outcome_id",
        "area_path",
        "reason",
        "status",
        "rule_ref",
        "created_at",
    ]
    session.execute(insert(ORDER_TABLE).from_select(columns, wanted))
    return count_rows(
        session,
        select(func.count()).where(ResampleOrder.tube_outcome_id.in_(_of_run(run_id))),
    )


def _raise_alerts(
    *, session: Session, run_id: str, now: datetime, policy: PositivePoolPolicy
) -> int:
    positives = select(
        case(
            (TubeOutcome.member_count > 1, AlertKind.POSITIVE_POOL.value),
            else_=AlertKind.POSITIVE_SINGLE.value,
        ),
        TubeOutcome.id,
        TubeOutcome.tube_id,
        TubeOutcome.campaign_id,
        TubeOutcome.area_path,
        literal(",".join(policy.audiences)),
        TubeOutcome.member_count,
        literal(AlertStatus.OPEN.value),
        literal(policy.rule_ref),
        literal(now, type_=Alert.__table__.c.created_at.type),
    ).where(TubeOutcome.run_id == run_id, TubeOutcome.result == LabResult.DETECTED.value)
    columns = [
        "kind",
        "tube_outcome_id",
        "tube_id",
        "campaign_id",
        "area_path",
        "audiences",
        "member_count",
        "status",
        "rule_ref",
        "created_at",
    ]
    session.execute(insert(ALERT_TABLE).from_select(columns, positives))
    return count_rows(
        session, select(func.count()).where(Alert.tube_outcome_id.in_(_of_run(run_id)))
    )


def _flag_buildings(
    *, session: Session, run_id: str, now: datetime, policy: PositivePoolPolicy
) -> int:
    buildings = (
        select(
            TubeOutcome.campaign_id,
            Household.building_id,
            func.min(TubeOutcome.id),
            literal(policy.rule_ref),
            literal(now, type_=SamplingPriority.__table__.c.created_at.type),
        )
        .join(TubeMember, TubeMember.tube_id == TubeOutcome.tube_id)
        .join(Person, Person.id == TubeMember.person_id)
        .join(Household, Household.id == Person.household_id)
        .join(TestCampaign, TestCampaign.id == TubeOutcome.campaign_id)
        .where(
            TubeOutcome.run_id == run_id,
            TubeOutcome.result == LabResult.DETECTED.value,
            TubeOutcome.member_count > 1,
            TestCampaign.status == CampaignStatus.OPEN.value,
        )
        .group_by(TubeOutcome.campaign_id, Household.building_id)
    )
    statement = (
        insert_for(session)(SamplingPriority.__table__)
        .from_select(
            ["campaign_id", "building_id", "tube_outcome_id", "rule_ref", "created_at"], buildings
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "building_id"])
    )
    session.execute(statement)
    return count_rows(
        session,
        select(func.count()).where(SamplingPriority.tube_outcome_id.in_(_of_run(run_id))),
    )
