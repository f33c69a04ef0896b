"""The scan intake's applier: run received scans through the sampling checks, exactly once.

Rows of ``sampling_intake`` still waiting (``outcome IS NULL``) are taken in id order, turned
back into ``ScanInput`` and handed to ``sampling.process_batch``, the same checks and effects as
the synchronous endpoint (tube members, flags, seals, the round's coverage, audit). Each row's
outcome (``applied`` with its scan id and flags, or ``rejected`` with the refusal's code and
message) is written by the same transaction as its effects, and only for rows whose outcome is
still empty: a pass that dies before its COMMIT leaves every row waiting and nothing applied, a
pass that committed is never repeated. Appliers in several processes take turns (a transaction
lock on PostgreSQL; SQLite has one writer anyway).

The sampler is attributed as it is when the row is applied (jurisdiction, account still active):
the permission to sample was checked when the scan was received.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.models import User
from fangkong.core import audit, clock
from fangkong.core.errors import AuthenticationFailed, CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.registry.models import Person
from fangkong.testing import sampling
from fangkong.testing.enums import ScanMethod
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import SamplingIntake

INTAKE_TABLE = SamplingIntake.metadata.tables["sampling_intake"]
APPLIED = "applied"
REJECTED = "rejected"
DEFAULT_BATCH = 500
_LOCK_KEY = 0x46_4B_53_43  # "FKSC": appliers in several processes take turns


@dataclass(frozen=True, slots=True)
class ApplyReport:
    applied: int = 0
    rejected: int = 0
    last_id: int | None = None

    @property
    def rows(self) -> int:
        return self.applied + self.rejected


def apply_pending(
    *, session_factory: Callable[[], Session], limit: int = DEFAULT_BATCH
) -> ApplyReport:
    """Apply up to ``limit`` waiting intake rows in one transaction; commits."""
    with session_factory() as session:
        _take_turn(session)
        rows = list(
            session.scalars(
                select(SamplingIntake)
                .where(SamplingIntake.outcome.is_(None))
                .order_by(SamplingIntake.id)
                .limit(limit)
            )
        )
        if not rows:
            session.rollback()
            return ApplyReport()
        now = clock.now()
        actors = _actors(session, {row.user_id for row in rows})
        outcomes = _decide(session, rows, actors, now)
        report = _record(session, rows, outcomes, actors, now)
        session.commit()
        return report


def sampler_outcomes(
    *, session: Session, actor: Actor, after_id: int | None = None, limit: int = 50
) -> list[tuple[SamplingIntake, list[str]]]:
    """The caller's own intake rows, newest first: what became of each scan it sent, with the
    masked names of the people an applied scan put in the tube (for the sampler to check)."""
    stmt = select(SamplingIntake).where(SamplingIntake.user_id == actor.user_id)
    if after_id is not None:
        stmt = stmt.where(SamplingIntake.id > after_id)
    rows = list(session.scalars(stmt.order_by(SamplingIntake.id.desc()).limit(limit)))
    wanted = sorted({p for row in rows if row.outcome == APPLIED for p in row.person_ids})
    names: dict[int, str] = {}
    if wanted:
        for person_id, name in session.execute(
            select(Person.id, Person.name).where(Person.id.in_(wanted))
        ):
            names[person_id] = name
    return [
        (
            row,
            [sampling.mask_name(names.get(p, "")) for p in row.person_ids]
            if row.outcome == APPLIED
            else [],
        )
        for row in rows
    ]


def pending_count(*, session: Session) -> int:
    return int(
        session.scalar(text("SELECT count(*) FROM sampling_intake WHERE outcome IS NULL")) or 0
    )


def _take_turn(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        # Take SQLite's write lock first, so the rows read are still waiting when written.
        session.execute(text("UPDATE sampling_intake SET id = id WHERE 0"))


def _actors(session: Session, user_ids: set[int]) -> dict[int, Actor]:
    users = session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    return {user.id: accounts_service.actor_for(user) for user in users if user.is_active}


def _scan_input(row: SamplingIntake, actor: Actor) -> sampling.ScanInput:
    return sampling.ScanInput(
        actor=actor,
        tube_barcode=row.tube_barcode,
        method=ScanMethod(row.method),
        person_ids=tuple(row.person_ids),
        id_lookup_keys=tuple(row.id_lookup_keys),
        # Derived from the row, never the phone's: the sampling_scan row it becomes is unique
        # per intake row, whatever two samplers chose as their own ids.
        client_scan_id=f"intake-{row.id}",
        scanned_at=row.scanned_at or row.received_at,
    )


Outcome = sampling.ScanOutcome | FangkongError


def _decide(
    session: Session, rows: Sequence[SamplingIntake], actors: dict[int, Actor], now: datetime
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(rows)
    runnable: list[int] = []
    for position, row in enumerate(rows):
        if row.user_id in actors:
            runnable.append(position)
        else:
            outcomes[position] = AuthenticationFailed(
                CoreErrorCode.AUTH_USER_DISABLED, "the sampler's account is disabled"
            )
    scans = [_scan_input(rows[p], actors[rows[p].user_id]) for p in runnable]
    try:
        with session.begin_nested():
            results = sampling.process_batch(session=session, scans=scans, now=now)
    except Exception as error:
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            raise  # the database went away: nothing is recorded, the rows wait for next time
        results = [_alone(session, scan, now) for scan in scans]
    for position, result in zip(runnable, results, strict=True):
        outcomes[position] = result
    return [outcome for outcome in outcomes if outcome is not None]


def _alone(session: Session, scan: sampling.ScanInput, now: datetime) -> Outcome:
    """One scan in its own savepoint, after its batch failed as a whole."""
    try:
        with session.begin_nested():
            return sampling.process_batch(session=session, scans=[scan], now=now)[0]
    except Exception as error:
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            raise
        return FangkongError(
            TestingErrorCode.SCAN_APPLY_FAILED,
            f"the scan could not be applied ({type(error).__name__}); ask an operator",
            status=500,
        )


def _record(
    session: Session,
    rows: Sequence[SamplingIntake],
    outcomes: Sequence[Outcome],
    actors: dict[int, Actor],
    now: datetime,
) -> ApplyReport:
    values: list[dict[str, Any]] = []
    rejected: dict[int, dict[str, list[int]]] = {}  # sampler → code → intake ids
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, FangkongError):
            values.append(
                {
                    "row_id": row.id,
                    "o": REJECTED,
                    "s": None,
                    "f": None,
                    "c": str(outcome.code),
                    "m": outcome.message,
                    "t": now,
                }
            )
            by_code = rejected.setdefault(row.user_id, {})
            by_code.setdefault(str(outcome.code), []).append(row.id)
        else:
            values.append(
                {
                    "row_id": row.id,
                    "o": APPLIED,
                    "s": outcome.scan_id,
                    "f": list(outcome.flags),
                    "c": None,
                    "m": None,
                    "t": now,
                }
            )
    session.connection().execute(
        update(INTAKE_TABLE)
        .where(INTAKE_TABLE.c.id == bindparam("row_id"), INTAKE_TABLE.c.outcome.is_(None))
        .values(
            outcome=bindparam("o"),
            scan_id=bindparam("s"),
            flags=bindparam("f"),
            error_code=bindparam("c"),
            error_message=bindparam("m"),
            applied_at=bindparam("t"),
        ),
        values,
    )
    # Accepted scans are audited by process_batch; refusals here, once per sampler and pass.
    for user_id, by_code in rejected.items():
        actor = actors.get(user_id)
        audit.record(
            session=session,
            actor=actor,
            action="testing.intake_rejected",
            subject_type="sampling_intake",
            subject_id=min(min(ids) for ids in by_code.values()),
            after={"sampler_user_id": user_id, "rejected": by_code},
            # a disabled sampler's scans are refused by the platform itself
            rule_ref=None if actor is not None else "accounts: disabled accounts act no more",
            occurred_at=now,
        )
    count = sum(len(ids) for by_code in rejected.values() for ids in by_code.values())
    return ApplyReport(applied=len(rows) - count, rejected=count, last_id=rows[-1].id)
