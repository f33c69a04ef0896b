"""Epidemic-free certification of compounds (无疫小区), evaluated from the platform's records.

The day facts of a compound come from what the platform stores: new infections are tracing's
cases of people living in it (by the local day of their sample, else of the report); a round of
everyone on a day is all negative when every active resident has a not-detected tube sampled
that day and no resident a detected one. The records are taken as complete: a day without a
case is a day without a new infection. Nothing is stored: the status is computed for the day
asked, under the chosen pack's ``certification`` section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.areas.certification_rules import (
    CERTIFICATION_SECTION,
    CertificationDecision,
    CertificationSection,
    CertStatus,
    CertUnit,
    evaluate,
)
from fangkong.areas.schemas import DayFacts
from fangkong.config import get_settings
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.registry.enums import PersonStatus
from fangkong.registry.models import Building, Compound, Household, Person
from fangkong.rulepacks.catalog import Catalog, load_catalog
from fangkong.testing.enums import LabResult
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing.enums import CaseStatus
from fangkong.tracing.models import Case


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog(schemas=[CERTIFICATION_SECTION])


def packs_with_certification() -> list[str]:
    """Ids of the packs that carry a certification standard (most packs have none)."""
    return sorted(
        {
            pack_id
            for (pack_id, _), pack in catalog().packs.items()
            if pack.has_section("certification")
        }
    )


def section_for(pack_id: str) -> CertificationSection | None:
    pack = catalog().get(pack_id)
    return pack.section(CERTIFICATION_SECTION) if pack.has_section("certification") else None


@dataclass(frozen=True)
class CompoundStatus:
    compound_id: int
    name: str
    area_path: str
    residents: int
    decision: CertificationDecision


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(get_settings().timezone))
    return start, start + timedelta(days=1)


def _local(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def _to_compound(stmt: Select[Any]) -> Select[Any]:
    """Join a statement over ``Person`` to the compound the person lives in."""
    return stmt.join(Household, Household.id == Person.household_id).join(
        Building, Building.id == Household.building_id
    )


def _round_day(session: Session, path: str, day: date) -> dict[int, tuple[int, int]]:
    """Per compound: (residents with a not-detected tube, residents with a detected tube) among
    the samples of ``day``."""
    start, end = _bounds(day)
    negative = exists().where(
        TubeResult.tube_id == TubeMember.tube_id, TubeResult.result == LabResult.NOT_DETECTED.value
    )
    detected = exists().where(
        TubeResult.tube_id == TubeMember.tube_id, TubeResult.result == LabResult.DETECTED.value
    )
    stmt = select(
        Building.compound_id,
        func.count(distinct(case((negative, TubeMember.person_id)))),
        func.count(distinct(case((detected, TubeMember.person_id)))),
    ).select_from(TubeMember)
    stmt = stmt.join(Tube, Tube.id == TubeMember.tube_id).join(
        Person, Person.id == TubeMember.person_id
    )
    stmt = _to_compound(stmt)
    stmt = stmt.where(
        TubeMember.sampled_at >= start,
        TubeMember.sampled_at < end,
        within_path(Person.area_path, path),
        Person.status == PersonStatus.ACTIVE.value,
    ).group_by(Building.compound_id)
    return {int(c): (int(n), int(d)) for c, n, d in session.execute(stmt)}


def compound_statuses(
    *, session: Session, actor: Actor, path: str, today: date, section: CertificationSection
) -> list[CompoundStatus]:
    """Every compound under ``path`` (inside the actor's jurisdiction) with its status today."""
    actor.require(Permission.AREAS_VIEW)
    actor.require_path(path)
    rule = section.rule_for(CertUnit.COMPOUND)
    if rule is None:
        return []
    compounds = session.execute(
        scope_to_jurisdiction(
            select(Compound.id, Compound.name, Compound.area_path)
            .where(within_path(Compound.area_path, path))
            .order_by(Compound.area_path, Compound.id),
            actor=actor,
            path_column=Compound.area_path,
        )
    ).all()
    residents_stmt = select(Building.compound_id, func.count(Person.id)).select_from(Person)
    residents_stmt = _to_compound(residents_stmt)
    residents = {
        int(compound_id): int(count)
        for compound_id, count in session.execute(
            residents_stmt.where(
                within_path(Person.area_path, path), Person.status == PersonStatus.ACTIVE.value
            ).group_by(Building.compound_id)
        )
    }
    # the records looked at: the window ending today and the one ending yesterday (revocation)
    known_since = today - timedelta(days=rule.days_without_case)
    since, _ = _bounds(known_since)
    case_day = func.coalesce(Case.sampled_at, Case.reported_at)
    cases_stmt = select(Building.compound_id, case_day).select_from(Case)
    cases_stmt = cases_stmt.join(Person, Person.id == Case.person_id)
    cases_stmt = _to_compound(cases_stmt)
    infections: dict[int, dict[date, int]] = {}
    for compound_id, moment in session.execute(
        cases_stmt.where(
            and_(
                within_path(Person.area_path, path),
                case_day >= since,
                Case.status != CaseStatus.VOID.value,
            )
        )
    ):
        per_day = infections.setdefault(int(compound_id), {})
        per_day[_local(moment)] = per_day.get(_local(moment), 0) + 1
    round_days = []
    if rule.round_on_day is not None:
        offset = timedelta(days=rule.days_without_case - rule.round_on_day)
        round_days = [today - offset, today - timedelta(days=1) - offset]
    rounds = {day: _round_day(session, path, day) for day in round_days}
    statuses = []
    for compound_id, name, area_path in compounds:
        people = int(residents.get(compound_id, 0))
        facts: dict[date, DayFacts] = {}
        for day, count in infections.get(compound_id, {}).items():
            facts[day] = DayFacts(day, new_infections=count)
        for day, per_compound in rounds.items():
            negative, positive = per_compound.get(compound_id, (0, 0))
            all_negative = people > 0 and negative >= people and positive == 0
            old = facts.get(day, DayFacts(day))
            facts[day] = DayFacts(
                day,
                new_infections=old.new_infections,
                rounds=1 if negative or positive else 0,
                negative_rounds=1 if all_negative else 0,
            )
        decision = evaluate(
            rule=rule, days=sorted(facts.values(), key=_day), today=today, known_since=known_since
        )
        statuses.append(CompoundStatus(compound_id, name, area_path, people, decision))
    return statuses


def _day(facts: DayFacts) -> date:
    return facts.day


def certified_under(*, statuses: Sequence[CompoundStatus], paths: Sequence[str]) -> dict[str, int]:
    """Certified compounds inside each of ``paths`` (the map's layer)."""
    return {
        path: sum(
            1
            for s in statuses
            if s.area_path.startswith(path) and s.decision.status is CertStatus.CERTIFIED
        )
        for path in paths
    }
