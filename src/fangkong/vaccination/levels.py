"""Each resident's vaccination level, kept on ``person.vaccination_level``.

Coverage for a city of millions has to be one pass over an index, not a join of every resident
with their doses (about 8 µs a resident on SQLite: half a minute for 4 million). So every code
path that writes, changes or removes dose records calls :func:`refresh` for the people
concerned before its transaction commits, so that another transaction never sees the level
disagree with the doses. :func:`rebuild` recomputes everyone (after a bulk load, or to repair).
Why a column of ``person`` and not a summary table of this domain: a table here would need a
row for every resident (coverage divides by all of them) kept through every registration, bulk
load, move and merge in the registry; the column starts at 0 with the resident.

The level is what ``rules.level_for`` gives for the highest dose number and the course length
of the product of dose 1 (the default course when dose 1 is missing), as
``coverage.levels_from_doses`` computes it from arrays.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.registry.models import Person
from fangkong.vaccination import events, rules
from fangkong.vaccination.enums import VaccinationLevel
from fangkong.vaccination.models import DoseRecord
from fangkong.vaccination.products import PRODUCTS

# Persons per statement: well under SQLite's and psycopg's bound-parameter limits.
CHUNK = 5_000


def _levels(
    person_ids: Collection[int] | None,
) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """``(person_id, level)`` of everyone with at least one dose (of ``person_ids`` if given)."""
    course = case(
        {product.cvx: product.primary_doses for product in PRODUCTS},
        value=DoseRecord.product,
        else_=rules.DEFAULT_PRIMARY_DOSES,
    )
    grouped = select(
        DoseRecord.person_id.label("person_id"),
        func.max(DoseRecord.dose_number).label("highest"),
        func.coalesce(
            func.max(case((DoseRecord.dose_number == 1, course))), rules.DEFAULT_PRIMARY_DOSES
        ).label("course"),
    ).group_by(DoseRecord.person_id)
    if person_ids is not None:
        grouped = grouped.where(DoseRecord.person_id.in_(person_ids))
    doses = grouped.subquery()
    level = case(
        (doses.c.highest < 1, int(VaccinationLevel.NONE)),
        (doses.c.highest < doses.c.course, int(VaccinationLevel.FIRST_DOSE)),
        (doses.c.highest == doses.c.course, int(VaccinationLevel.FULL_COURSE)),
        else_=int(VaccinationLevel.BOOSTER),
    )
    return doses.c.person_id, level


def _write(session: Session, person_ids: Collection[int] | None) -> int:
    """Rewrite the levels that differ; returns how many persons changed."""
    person_id, level = _levels(person_ids)
    # One UPDATE … FROM a grouped subquery (SQLite ≥ 3.33 and PostgreSQL): rows whose level is
    # already right are not rewritten, so a rebuild of an up-to-date city writes nothing.
    dosed = session.execute(
        update(Person)
        .where(Person.id == person_id, Person.vaccination_level != level)
        .values(vaccination_level=level)
        .execution_options(synchronize_session=False)
    )
    # Whoever has no dose left (a correction removed them all) is back to none.
    undosed = update(Person).where(
        Person.vaccination_level != int(VaccinationLevel.NONE),
        ~select(DoseRecord.id).where(DoseRecord.person_id == Person.id).exists(),
    )
    if person_ids is not None:
        undosed = undosed.where(Person.id.in_(person_ids))
    cleared = session.execute(
        undosed.values(vaccination_level=int(VaccinationLevel.NONE)).execution_options(
            synchronize_session=False
        )
    )
    return int(dosed.rowcount) + int(cleared.rowcount)  # type: ignore[attr-defined]


def refresh(*, session: Session, person_ids: Collection[int]) -> None:
    """Recompute the level of ``person_ids`` from their dose records, in the caller's
    transaction (call it after the doses are flushed)."""
    session.flush()
    ordered = sorted(set(person_ids))
    for start in range(0, len(ordered), CHUNK):
        _write(session, ordered[start : start + CHUNK])
    _expire(session, ordered)


def rebuild(*, session: Session) -> int:
    """Recompute every person's level from the dose table (after a bulk load of doses, a
    change of a product's course length, or to repair); returns how many persons changed.
    Audited, as a change of state made by the system."""
    session.flush()
    changed = _write(session, None)
    session.expire_all()
    audit.record(
        session=session,
        actor=None,
        action=events.LEVELS_REBUILT,
        subject_type=events.SUBJECT_LEVELS,
        subject_id="all",
        after={"changed": changed},
        rule_ref="vaccination.rules.level_for",
    )
    return changed


def _expire(session: Session, person_ids: Collection[int]) -> None:
    """Loaded ``Person`` objects re-read the level the statements just wrote."""
    wanted = set(person_ids)
    for item in list(session.identity_map.values()):
        if isinstance(item, Person) and item.id in wanted:
            session.expire(item, ["vaccination_level"])
