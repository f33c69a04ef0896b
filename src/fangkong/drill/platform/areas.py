"""Risk areas: drawn from cases, confirmed, their daily facts and evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.areas import actions as areas_actions
from fangkong.areas import jobs as areas_jobs
from fangkong.areas import service as areas_service
from fangkong.areas.enums import Basis, DesignationStatus, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.areas.schemas import CasePlace, DayFactsIn
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.drill.platform.cases import Case
from fangkong.registry.models import Building, Household, Person


def propose_and_confirm_areas(
    *, session: Session, officer: Actor, cases: Sequence[Case], pack_id: str, pack_version: int
) -> list[int]:
    """Risk areas the pack draws from the cases' homes, each confirmed by the officer."""
    rows = session.execute(
        select(Person.id, Person.area_path, Building.compound_id, Building.id)
        .join(Household, Household.id == Person.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Person.id.in_([case.person_id for case in cases]))
    ).all()
    places = [
        CasePlace(
            case_id=person, basis=Basis.RESIDENCE, area_path=path,
            compound_id=compound, building_id=building,
        )
        for person, path, compound, building in rows
    ]  # fmt: skip
    section = areas_service.section_for(pack_id=pack_id, version=pack_version, now=clock.now())
    created = areas_service.propose_from_cases(session=session, places=places, section=section)
    for designation in created:
        areas_actions.confirm(session=session, actor=officer, designation_id=designation.id)
    return [designation.id for designation in created]


def record_area_days(
    *, session: Session, officer: Actor, cases_today: Sequence[Case], rounds: Mapping[int, bool]
) -> int:
    """The officer files today's facts for every confirmed designation: new cases living there,
    and whether a round was held there (``rounds[designation] = all negative``)."""
    today = clock.now().date()
    homes = session.execute(
        select(Building.compound_id, Building.id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(Person.id.in_([case.person_id for case in cases_today]))
    ).all()
    designations = session.scalars(
        select(RiskDesignation).where(RiskDesignation.status == DesignationStatus.CONFIRMED.value)
    ).all()
    for designation in designations:
        new = sum(
            building == designation.building_id
            if designation.building_id is not None
            else compound == designation.compound_id
            for compound, building in homes
        )
        held = designation.id in rounds
        areas_actions.record_day(
            session=session,
            actor=officer,
            designation_id=designation.id,
            facts=DayFactsIn(
                day=today,
                new_infections=new,
                rounds=int(held),
                negative_rounds=int(held and rounds[designation.id]),
                open_cases=new,
            ),
        )
    return len(designations)


def evaluate_areas(*, session: Session) -> areas_jobs.EvaluationReport:
    return areas_jobs.run_daily_evaluation(session=session)


def designation_residents(*, session: Session) -> dict[int, list[int]]:
    """Residents of every confirmed compound, building or unit designation, in household order
    (for rounds in risk areas)."""
    confirmed = RiskDesignation.status == DesignationStatus.CONFIRMED.value
    by_compound = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Building, Building.compound_id == RiskDesignation.compound_id)
        .join(Household, Household.building_id == Building.id)
        .join(Person, Person.household_id == Household.id)
        .where(confirmed, RiskDesignation.target_kind == TargetKind.COMPOUND.value)
    )
    by_building = (
        select(RiskDesignation.id, Person.household_id, Person.id)
        .join(Household, Household.building_id == RiskDesignation.building_id)
        .join(Person, Person.household_id == Household.id)
        .where(
            confirmed,
            RiskDesignation.target_kind.in_([TargetKind.BUILDING.value, TargetKind.UNIT.value]),
            RiskDesignation.unit.is_(None) | (Household.unit == RiskDesignation.unit),
        )
    )
    rows = sorted(
        (tuple(row) for stmt in (by_compound, by_building) for row in session.execute(stmt)),
    )
    out: dict[int, list[int]] = {}
    for designation, _, person in rows:
        out.setdefault(designation, []).append(person)
    return out
