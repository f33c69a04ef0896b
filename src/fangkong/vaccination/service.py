"""Dose imports, a person's vaccination status, coverage and the unvaccinated elderly.

Imports load every acceptable record and report every refused one with its code. Coverage and
lists are scoped to the caller's jurisdiction. :func:`status_for` is what other domains call
(the health-code display) to show a person's vaccination.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit, clock
from fangkong.core.crypto import FieldCipher
from fangkong.core.errors import NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.registry.enums import LEVEL_DEPTH, AreaLevel, PersonStatus
from fangkong.registry.identity import id_number_lookup_keys
from fangkong.registry.models import Area, Person
from fangkong.vaccination import coverage, events, levels, rules
from fangkong.vaccination.enums import AgeGroup, DoseSource, VaccinationLevel
from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.formats import DoseInput, RecordProblem
from fangkong.vaccination.models import DoseRecord
from fangkong.vaccination.products import find_product
from fangkong.vaccination.schemas import (
    CoverageRow,
    ImportProblem,
    ImportReport,
    UnvaccinatedGrid,
    UnvaccinatedPerson,
    VaccinationStatus,
)


def _person_ids(
    session: Session, actor: Actor, cipher: FieldCipher, id_numbers: set[str]
) -> dict[str, int]:
    """Resident ID number → person id, for the people inside the caller's jurisdiction."""
    found: dict[str, int] = {}
    for id_number in id_numbers:
        keys = id_number_lookup_keys(cipher, id_number)
        stmt = scope_to_jurisdiction(
            select(Person.id).where(Person.id_number_index.in_(keys)),
            actor=actor,
            path_column=Person.area_path,
        )
        person_id = session.scalar(stmt)
        if person_id is not None:
            found[id_number] = person_id
    return found


def import_doses(
    *,
    session: Session,
    actor: Actor,
    cipher: FieldCipher,
    doses: Sequence[DoseInput],
    problems: Sequence[RecordProblem],
    source: DoseSource,
) -> ImportReport:
    """Record every acceptable dose; report each refused record with its code.

    Records are taken in date order, so a file that lists dose 2 before dose 1 still loads.
    A dose already recorded identically counts as ``already_present`` (re-importing a file is
    harmless); a different dose under the same number is refused as a duplicate.
    """
    actor.require(Permission.VACCINATION_RECORD)
    refused = [ImportProblem(**vars(p)) for p in problems]
    people = _person_ids(session, actor, cipher, {d.id_number for d in doses})
    prior: dict[int, list[DoseRecord]] = {}
    for record in session.scalars(
        select(DoseRecord).where(DoseRecord.person_id.in_(set(people.values())))
    ):
        prior.setdefault(record.person_id, []).append(record)
    today = clock.now().date()
    accepted = already = 0
    touched: set[int] = set()
    for dose in sorted(doses, key=lambda d: (d.administered_on, d.dose_number)):
        person_id = people.get(dose.id_number)
        product = find_product(dose.product)
        if person_id is None:
            refused.append(_problem(dose, E.PERSON_NOT_FOUND, "id_number", "no such resident"))
            continue
        if product is None:
            refused.append(_problem(dose, E.PRODUCT_UNKNOWN, "product", "unknown vaccine"))
            continue
        earlier = prior.setdefault(person_id, [])
        same = [r for r in earlier if r.dose_number == dose.dose_number]
        if same and (same[0].product, same[0].administered_on) == (
            product.cvx,
            dose.administered_on,
        ):
            already += 1
            continue
        refusal = rules.dose_refusal(
            product=product,
            dose_number=dose.dose_number,
            administered_on=dose.administered_on,
            prior=[rules.PriorDose(r.dose_number, r.administered_on, r.product) for r in earlier],
            today=today,
        )
        if refusal is not None:
            refused.append(_problem(dose, refusal, "dose_number", f"refused: {refusal}"))
            continue
        record = DoseRecord(
            person_id=person_id,
            product=product.cvx,
            dose_number=dose.dose_number,
            administered_on=dose.administered_on,
            site=dose.site,
            lot_number=dose.lot_number,
            source=source,
            recorded_at=clock.now(),
        )
        session.add(record)
        earlier.append(record)
        touched.add(person_id)
        accepted += 1
    levels.refresh(session=session, person_ids=touched)
    audit.record(
        session=session,
        actor=actor,
        action=events.DOSES_IMPORTED,
        subject_type=events.SUBJECT_IMPORT,
        subject_id=source,
        after={"accepted": accepted, "already_present": already, "refused": len(refused)},
    )
    return ImportReport(accepted=accepted, already_present=already, refused=refused)


def _problem(dose: DoseInput, code: E, field: str, message: str) -> ImportProblem:
    return ImportProblem(record=dose.record, code=code, field=field, message=message)


def status_for(*, session: Session, person_id: int) -> VaccinationStatus:
    """A person's vaccination status (for the health-code display and other domains)."""
    records = list(
        session.scalars(
            select(DoseRecord)
            .where(DoseRecord.person_id == person_id)
            .order_by(DoseRecord.dose_number)
        )
    )
    first = records[0].product if records else None
    highest = records[-1].dose_number if records else 0
    level = rules.level_for(highest_dose=highest, first_product=first)
    return VaccinationStatus(
        person_id=person_id,
        level=int(level),
        level_name=level.name.lower(),
        doses=len(records),
        last_dose_on=records[-1].administered_on if records else None,
        first_product=first,
    )


def status_in_jurisdiction(*, session: Session, actor: Actor, person_id: int) -> VaccinationStatus:
    """:func:`status_for`, for a person inside the caller's jurisdiction only."""
    actor.require(Permission.VACCINATION_VIEW)
    stmt = scope_to_jurisdiction(
        select(Person.id).where(Person.id == person_id), actor=actor, path_column=Person.area_path
    )
    if session.scalar(stmt) is None:
        raise NotFound(E.PERSON_NOT_FOUND, "no such resident in your area", field="person_id")
    return status_for(session=session, person_id=person_id)


def _born_by(on: date, years: int) -> date:
    """The latest birth date of someone at least ``years`` old on ``on`` (as ``rules.age_on``:
    a 29 February birthday is reached on 1 March; someone asked on 29 February in a common
    year was born by 28 February)."""
    year = on.year - years
    try:
        return on.replace(year=year)
    except ValueError:  # 29 February → a common year
        return date(year, 2, 28)


def coverage_counts(
    *, session: Session, actor: Actor, on: date, by: AreaLevel = AreaLevel.COUNTY
) -> dict[tuple[str, AgeGroup], list[int]]:
    """``(area path at level by, age group) → [population, first dose, full course, booster]``
    for the active residents inside the jurisdiction.

    One pass over ``ix_person_vaccination_coverage`` (status, area path, level, birth date) in
    its own order, so neither database sorts or hashes millions of rows: grouped by area path
    and level, each group counts the residents born by each age group's cut-off date (the
    cut-offs computed here, exactly ``rules.age_group(rules.age_on(...))``), and the age groups
    are the differences of those cumulative counts. The level is ``person.vaccination_level``,
    kept by ``levels.refresh`` with every dose written. Only a few rows per area come back
    however large the city. Equal to what ``coverage.count`` gives on the same residents.
    """
    floors = [floor for floor, _ in rules.AGE_GROUP_FLOORS]  # oldest group first
    born_by = [_born_by(on, floor) for floor in floors]
    stmt = scope_to_jurisdiction(
        select(
            Person.area_path,
            Person.vaccination_level,
            *(func.count().filter(Person.birth_date <= cut) for cut in born_by),
        )
        .where(Person.status == PersonStatus.ACTIVE)
        .group_by(Person.area_path, Person.vaccination_level),
        actor=actor,
        path_column=Person.area_path,
    )
    counts: dict[tuple[str, AgeGroup], list[int]] = {}
    segments = LEVEL_DEPTH[by] + 1
    for path, reached, *born in session.execute(stmt).tuples():
        key = "/" + "/".join(path.strip("/").split("/")[:segments]) + "/"
        older = 0
        for (_, age_group), cumulative in zip(rules.AGE_GROUP_FLOORS, born, strict=True):
            residents = cumulative - older
            older = cumulative
            if not residents:
                continue
            cell = counts.setdefault((key, age_group), [0, 0, 0, 0])
            cell[0] += residents
            for k in range(1, reached + 1):
                cell[k] += residents
    return counts


def coverage_table(
    *, session: Session, actor: Actor, on: date, by: AreaLevel = AreaLevel.COUNTY
) -> list[CoverageRow]:
    """Coverage by age group and area (the areas at level ``by`` inside the jurisdiction),
    against ``rules.target_for`` each group and level."""
    actor.require(Permission.VACCINATION_VIEW)
    counts = coverage_counts(session=session, actor=actor, on=on, by=by)
    answer = []
    for (key, group), (population, first, full, booster) in sorted(
        counts.items(), key=lambda item: (item[0][0], coverage.GROUPS.index(item[0][1]))
    ):
        first_rate = first / population
        full_rate, booster_rate = full / population, booster / population
        first_target, full_target, booster_target = (
            rules.target_for(AgeGroup(group), level)
            for level in (
                VaccinationLevel.FIRST_DOSE,
                VaccinationLevel.FULL_COURSE,
                VaccinationLevel.BOOSTER,
            )
        )
        answer.append(
            CoverageRow(
                area_path=key,
                age_group=group,
                population=population,
                first_dose=first,
                full_course=full,
                booster=booster,
                first_dose_rate=round(first_rate, 4),
                full_course_rate=round(full_rate, 4),
                booster_rate=round(booster_rate, 4),
                first_dose_target=first_target,
                full_course_target=full_target,
                booster_target=booster_target,
                first_dose_gap=round(first_rate - first_target, 4),
                full_course_gap=round(full_rate - full_target, 4),
                booster_gap=round(booster_rate - booster_target, 4),
            )
        )
    return answer


def unvaccinated_elderly(*, session: Session, actor: Actor, on: date) -> list[UnvaccinatedGrid]:
    """Residents aged 60 or more on ``on`` with no dose at all, grouped by their grid."""
    actor.require(Permission.VACCINATION_VIEW)
    born_by = date(on.year - rules.ELDERLY_AGE, on.month, 28 if on.day > 28 else on.day)
    stmt = scope_to_jurisdiction(
        select(Person.id, Person.name, Person.id_number_masked, Person.birth_date, Person.area_path)
        .where(
            Person.status == PersonStatus.ACTIVE,
            Person.birth_date <= born_by,
            ~select(DoseRecord.id).where(DoseRecord.person_id == Person.id).exists(),
        )
        .order_by(Person.area_path, Person.id),
        actor=actor,
        path_column=Person.area_path,
    )
    grids: dict[str, list[UnvaccinatedPerson]] = {}
    for person_id, name, masked, birth_date, path in session.execute(stmt).tuples():
        assert birth_date is not None  # filtered in the query
        age = rules.age_on(birth_date, on)
        if age < rules.ELDERLY_AGE:
            continue
        grids.setdefault(path, []).append(
            UnvaccinatedPerson(person_id=person_id, name=name, id_number_masked=masked, age=age)
        )
    return [UnvaccinatedGrid(area_path=path, persons=people) for path, people in grids.items()]


def area_names(*, session: Session, paths: set[str]) -> dict[str, str]:
    """The name of the area at each path (for tables keyed by area path)."""
    if not paths:
        return {}
    rows = session.execute(select(Area.path, Area.name).where(Area.path.in_(paths)))
    return dict(rows.tuples().all())


def totals_by_age_group(rows: Sequence[CoverageRow]) -> list[CoverageRow]:
    """The rows of a coverage table summed over areas: one row per age group, whose
    ``area_path`` is empty. Rates and gaps are recomputed from the sums."""
    sums: dict[str, list[int]] = {}
    targets: dict[str, tuple[float, float, float]] = {}
    for row in rows:
        total = sums.setdefault(row.age_group, [0, 0, 0, 0])
        for index, value in enumerate(
            (row.population, row.first_dose, row.full_course, row.booster)
        ):
            total[index] += value
        targets[row.age_group] = (row.first_dose_target, row.full_course_target, row.booster_target)
    answer = []
    for group in [g for g in AgeGroup if g in sums]:
        population, first, full, booster = sums[group]
        first_target, full_target, booster_target = targets[group]
        answer.append(
            CoverageRow(
                area_path="",
                age_group=group,
                population=population,
                first_dose=first,
                full_course=full,
                booster=booster,
                first_dose_rate=round(first / population, 4),
                full_course_rate=round(full / population, 4),
                booster_rate=round(booster / population, 4),
                first_dose_target=first_target,
                full_course_target=full_target,
                booster_target=booster_target,
                first_dose_gap=round(first / population - first_target, 4),
                full_course_gap=round(full / population - full_target, 4),
                booster_gap=round(booster / population - booster_target, 4),
            )
        )
    return answer
