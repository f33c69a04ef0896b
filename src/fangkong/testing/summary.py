"""The per-person test summary (``PersonTestSummary``): kept by the writes that change it, read
by the health-code recompute of a whole city.

A person's row is always recomputed from all of their samples (never adjusted by a delta): a
result reported again, a later report of an older sample or a tube that gains a member then
cannot leave it wrong. Every refresh is one ``INSERT … SELECT … GROUP BY`` with ``ON CONFLICT``
for the people concerned, given as a ``SELECT`` of person ids, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from fangkong.core import audit, clock
from fangkong.testing.enums import LabResult
from fangkong.testing.models import (
    PersonTestSummary,
    PersonTestSummaryBacklog,
    Tube,
    TubeMember,
    TubeOutcome,
    TubeResult,
)
from fangkong.testing.sql import count_rows, insert_for, is_postgresql

# Rounds share the bits of ``round_bits`` by id modulo this (bit 63 would make it negative).
ROUND_BITS = 63
TABLE: Table = PersonTestSummary.metadata.tables["person_test_summary"]
COLUMNS = [
    "person_id",
    "last_sampled_us",
    "last_negative_us",
    "last_campaign_id",
    "round_bits",
    "pool_positive_us",
    "updated_at",
]


def epoch_us(session: Session, value: Any) -> ColumnElement[int]:
    """A stored UTC datetime as integer microseconds since the epoch (NULL stays NULL).
    SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text; PostgreSQL a timestamptz."""
    if is_postgresql(session):
        return cast(func.extract("epoch", value) * 1_000_000, BigInteger)
    return cast(func.strftime("%s", value), Integer) * 1_000_000 + cast(
        func.substr(value, 21, 6), Integer
    )


def _rows(session: Session, people: Select[Any] | CompoundSelect[Any] | None) -> Select[Any]:
    """The summary row of each person in ``people`` (everyone when None) who has a sample."""
    member = TubeMember.__table__
    latest = select(TubeResult.tube_id, func.max(TubeResult.reported_at).label("reported_at"))
    if people is not None:
        latest = latest.where(
            TubeResult.tube_id.in_(select(member.c.tube_id).where(member.c.person_id.in_(people)))
        )
    latest_of = latest.group_by(TubeResult.tube_id).subquery("latest_result")
    result = aliased(TubeResult, name="result")
    # The round of the latest sample taken in a round's tube: a correlated lookup through the
    # person's index, once per person.
    later, later_tube = aliased(TubeMember, name="later"), aliased(Tube, name="later_tube")
    last_round = (
        select(later_tube.campaign_id)
        .join(later, later.tube_id == later_tube.id)
        .where(later.person_id == member.c.person_id, later_tube.campaign_id.is_not(None))
        .order_by(later.sampled_at.desc(), later_tube.campaign_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    negative = result.result == LabResult.NOT_DETECTED.value
    round_bit = case(
        (
            Tube.campaign_id.is_not(None),
            literal(1, BigInteger).op("<<")(Tube.campaign_id % ROUND_BITS),
        )
    )
    pool_positive = and_(Tube.member_count > 1, result.result == LabResult.DETECTED.value)
    rows = (
        select(
            member.c.person_id,
            epoch_us(session, func.max(member.c.sampled_at)),
            epoch_us(session, func.max(case((negative, member.c.sampled_at)))),
            last_round,
            # A sum of distinct powers of two is their OR (SQLite has no bitwise aggregate).
            cast(func.coalesce(func.sum(round_bit.distinct()), 0), BigInteger),
            epoch_us(session, func.max(case((pool_positive, member.c.sampled_at)))),
            literal(clock.now(), type_=TABLE.c.updated_at.type),
        )
        .join(Tube, Tube.id == member.c.tube_id)
        .outerjoin(latest_of, latest_of.c.tube_id == member.c.tube_id)
        .outerjoin(
            result,
            and_(result.tube_id == member.c.tube_id, result.reported_at == latest_of.c.reported_at),
        )
        .group_by(member.c.person_id)
    )
    # (With a WHERE clause: SQLite parses ``INSERT … SELECT … ON CONFLICT`` only with one.)
    return rows if people is None else rows.where(member.c.person_id.in_(people))


def refresh(*, session: Session, people: Select[Any] | CompoundSelect[Any]) -> None:
    """Recompute the rows of ``people`` (a SELECT of person ids) from their samples."""
    statement = insert_for(session)(TABLE).from_select(COLUMNS, _rows(session, people))
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["person_id"],
            set_={name: excluded[name] for name in COLUMNS if name != "person_id"},
        )
    )


def queue_results(*, session: Session, run_id: str, now: datetime) -> None:
    """Queue an effects run for ``fold_backlog`` (in the run's own transaction)."""
    session.execute(insert(PersonTestSummaryBacklog).values(run_id=run_id, queued_at=now))


def fold_backlog(*, session: Session) -> int:
    """Move the summaries forward for every queued result run, oldest first, each run leaving
    the queue in the transaction that folds it; returns the number of runs folded.

    Folding is order-free: a first result only moves times forward (the later of two), and a
    tube with any other result has its members recomputed from all their samples as they are
    now — so runs folded late, or together, give what folding each at once would have."""
    runs = list(
        session.scalars(
            select(PersonTestSummaryBacklog.run_id).order_by(
                PersonTestSummaryBacklog.queued_at, PersonTestSummaryBacklog.run_id
            )
        )
    )
    for run_id in runs:
        results_applied(session=session, run_id=run_id)
    if runs:
        session.execute(
            delete(PersonTestSummaryBacklog).where(PersonTestSummaryBacklog.run_id.in_(runs))
        )
        audit.record(
            session=session,
            actor=None,
            action="testing.summaries_folded",
            subject_type="person_test_summary",
            subject_id="backlog",
            after={"runs": len(runs)},
            rule_ref="testing.summary_backlog",
        )
    return len(runs)


def results_applied(*, session: Session, run_id: str) -> None:
    """The summaries of the members of the tubes one effects run applied results to.

    A tube's first result can only add to its members' rows (a later negative, a positive
    pool), so those are moved forward by one ``UPDATE … FROM`` a grouped join of the run —
    a whole round's results touch millions of people, and recomputing them from all their
    samples costs several times more. The members of a tube with any other result (a
    correction, a result sent twice), and anyone with no row yet, are recomputed in full."""
    other = aliased(TubeResult, name="other_result")
    corrected = exists().where(
        other.tube_id == TubeOutcome.tube_id, other.id != TubeOutcome.lab_result_id
    )
    run = TubeOutcome.run_id == run_id
    negative = TubeOutcome.result == LabResult.NOT_DETECTED.value
    pool_positive = and_(Tube.member_count > 1, TubeOutcome.result == LabResult.DETECTED.value)
    added = (
        select(
            TubeMember.person_id.label("person_id"),
            epoch_us(session, func.max(case((negative, TubeMember.sampled_at)))).label("negative"),
            epoch_us(session, func.max(case((pool_positive, TubeMember.sampled_at)))).label("pool"),
        )
        .select_from(TubeOutcome)
        .join(TubeMember, TubeMember.tube_id == TubeOutcome.tube_id)
        .join(Tube, Tube.id == TubeOutcome.tube_id)
        .where(run, ~corrected)
        .group_by(TubeMember.person_id)
        .subquery("added")
    )
    kept = PersonTestSummary
    session.execute(
        update(kept)
        .where(kept.person_id == added.c.person_id)
        .values(
            last_negative_us=_later(kept.last_negative_us, added.c.negative),
            pool_positive_us=_later(kept.pool_positive_us, added.c.pool),
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    members = select(TubeMember.person_id).join(
        TubeOutcome, TubeOutcome.tube_id == TubeMember.tube_id
    )
    again = members.where(run, corrected).union(
        members.where(run, ~exists().where(kept.person_id == TubeMember.person_id))
    )
    refresh(session=session, people=again)


def _later(held: Any, new: Any) -> ColumnElement[int]:
    """The later of two optional times."""
    return case((and_(new.is_not(None), (held.is_(None)) | (new > held)), new), else_=held)


def refresh_tubes(*, session: Session, tube_ids: list[int]) -> None:
    """Recompute the rows of the members of these tubes (members added, a tube sealed)."""
    if tube_ids:
        refresh(
            session=session,
            people=select(TubeMember.person_id).where(TubeMember.tube_id.in_(tube_ids)),
        )


def rebuild(*, session: Session) -> int:
    """Every row again from the samples (after samples were loaded in bulk outside the
    platform's actions); returns the number of people summarised."""
    session.execute(delete(PersonTestSummary))
    # Everything queued is in the rows rebuilt from the samples.
    session.execute(delete(PersonTestSummaryBacklog))
    session.execute(TABLE.insert().from_select(COLUMNS, _rows(session, None)))
    people = count_rows(session, select(func.count()).select_from(TABLE))
    audit.record(
        session=session,
        actor=None,
        action="testing.summaries_rebuilt",
        subject_type="person_test_summary",
        subject_id="all",
        after={"people": people},
        # Not a rule pack's rule: the operator's rebuild command, named as the lab interface is.
        rule_ref="testing.rebuild_summary",
    )
    return people
