"""Risk designations: drawing, confirming, daily facts, the daily evaluation job, lifting, and
the status other domains read (health codes, pool sizes).

Every state change is a conditional UPDATE on the expected old state (checked by rowcount)
and writes an audit event in the same transaction; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.areas import events
from fangkong.areas.enums import DesignationStatus, RiskLevel, Scope, TargetKind
from fangkong.areas.errors import AreasErrorCode
from fangkong.areas.events import SUBJECT
from fangkong.areas.models import RiskAreaDay, RiskDesignation
from fangkong.areas.rules import evaluate_area, propose_designations
from fangkong.areas.schemas import (
    AreaDecision,
    AreaHistory,
    AreasSection,
    AreaStatus,
    CasePlace,
    DayFacts,
    PublicRiskArea,
)
from fangkong.areas.section import AREAS_SECTION
from fangkong.core import audit, clock
from fangkong.core.errors import FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.registry import service as registry_service
from fangkong.registry.enums import AreaLevel
from fangkong.rulepacks.catalog import Catalog, load_catalog

DEFAULT_SERIES = "cn"
SEVERITY = {level: rank for rank, level in enumerate(RiskLevel)}  # high = 0 … normal = 3
OPEN_STATUSES = (DesignationStatus.PROPOSED, DesignationStatus.CONFIRMED)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog(schemas=[AREAS_SECTION])


def section_for(*, pack_id: str | None, version: int | None, now: datetime) -> AreasSection:
    """The areas section of a pack, or of the national pack in force at ``now``."""
    packs = catalog()
    pack = (
        packs.in_force(series=DEFAULT_SERIES, at=now)
        if pack_id is None
        else packs.get(pack_id, version)
    )
    return pack.section(AREAS_SECTION)


@dataclass(frozen=True)
class _Target:
    name: str
    area_path: str
    scope: Scope
    area_id: int | None = None
    compound_id: int | None = None
    building_id: int | None = None
    unit: int | None = None


def _resolve_target(
    session: Session, kind: TargetKind, target_id: int, unit: int | None
) -> _Target:
    missing = NotFound(
        AreasErrorCode.TARGET_NOT_FOUND, f"no {kind} with id {target_id}", field="target_id"
    )
    if kind is TargetKind.AREA:
        area = registry_service.get_area(session=session, area_id=target_id)
        if area is None:
            raise missing
        scope = {AreaLevel.COUNTY: Scope.DISTRICT, AreaLevel.CITY: Scope.CITY}.get(
            AreaLevel(area.level), Scope.PLACE
        )
        return _Target(area.name, area.path, scope, area_id=area.id)
    if kind is TargetKind.COMPOUND:
        compound = registry_service.get_compound(session=session, compound_id=target_id)
        if compound is None:
            raise missing
        return _Target(compound.name, compound.area_path, Scope.PLACE, compound_id=compound.id)
    building = registry_service.get_building(session=session, building_id=target_id)
    if building is None:
        raise missing
    compound = registry_service.get_compound(session=session, compound_id=building.compound_id)
    label = f"{compound.name if compound else ''}{building.label}"
    if kind is TargetKind.UNIT:
        if unit is None or not 1 <= unit <= building.units:
            raise FangkongError(
                AreasErrorCode.TARGET_NOT_FOUND,
                f"building {building.label} has units 1 to {building.units}",
                field="unit",
            )
        label = f"{label}{unit}单元"
    return _Target(
        label,
        building.area_path,
        Scope.PLACE,
        compound_id=building.compound_id,
        building_id=building.id,
        unit=unit if kind is TargetKind.UNIT else None,
    )


def designate(
    *,
    session: Session,
    actor: Actor | None,
    target_kind: TargetKind,
    target_id: int,
    unit: int | None,
    level: RiskLevel,
    controls: Iterable[str],
    reason: str | None,
    section: AreasSection,
    rule_id: str | None = None,
) -> RiskDesignation:
    """Draw a risk area (status ``proposed``; an officer confirms it). An actor may only draw
    inside their jurisdiction; the platform itself (``actor=None``) must cite ``rule_id``."""
    target = _resolve_target(session, target_kind, target_id, unit)
    if actor is not None:
        actor.require_path(target.area_path)
    if level not in section.levels:
        raise FangkongError(
            AreasErrorCode.LEVEL_NOT_IN_PACK,
            f"{section.pack_ref} has no {level} level (levels: {', '.join(section.levels)})",
            field="level",
        )
    now = clock.now()
    designation = RiskDesignation(
        target_kind=str(target_kind),
        area_id=target.area_id,
        compound_id=target.compound_id,
        building_id=target.building_id,
        unit=target.unit,
        name=target.name,
        area_path=target.area_path,
        scope=str(target.scope),
        level=str(level),
        designated_level=str(level),
        level_since=now.date(),
        pending_level=None,
        controls=list(controls),
        status=str(DesignationStatus.PROPOSED),
        since=now,
        pack_id=section.pack_id,
        pack_version=section.pack_version,
        rule_id=rule_id,
        explanation=reason,
        created_at=now,
        updated_at=now,
    )
    session.add(designation)
    session.flush()
    events.proposed(session=session, actor=actor, designation=designation, reason=reason)
    return designation


def propose_from_cases(
    *, session: Session, places: Iterable[CasePlace], section: AreasSection
) -> list[RiskDesignation]:
    """Store the designations the pack draws from case places, skipping targets that already
    have an open designation."""
    created = []
    for proposal in propose_designations(places=places, section=section):
        column = {
            TargetKind.COMPOUND: RiskDesignation.compound_id,
            TargetKind.BUILDING: RiskDesignation.building_id,
            TargetKind.UNIT: RiskDesignation.building_id,
        }[proposal.target_kind]
        exists = session.scalar(
            select(func.count())
            .select_from(RiskDesignation)
            .where(
                RiskDesignation.target_kind == str(proposal.target_kind),
                column == proposal.target_id,
                RiskDesignation.unit.is_(None)
                if proposal.unit is None
                else RiskDesignation.unit == proposal.unit,
                RiskDesignation.status.in_([str(s) for s in OPEN_STATUSES]),
            )
        )
        if exists:
            continue
        cases = ", ".join(str(case) for case in proposal.case_ids)
        created.append(
            designate(
                session=session,
                actor=None,
                target_kind=proposal.target_kind,
                target_id=proposal.target_id,
                unit=proposal.unit,
                level=proposal.level,
                controls=proposal.controls,
                reason=f"cases {cases}",
                section=section,
                rule_id=proposal.rule_id,
            )
        )
    return created


def get_or_raise(*, session: Session, actor: Actor, designation_id: int) -> RiskDesignation:
    """A designation inside the actor's jurisdiction (outside it answers not found)."""
    stmt = scope_to_jurisdiction(
        select(RiskDesignation).where(RiskDesignation.id == designation_id),
        actor=actor,
        path_column=RiskDesignation.area_path,
    )
    designation = session.scalars(stmt).one_or_none()
    if designation is None:
        raise NotFound(
            AreasErrorCode.DESIGNATION_NOT_FOUND,
            f"no risk area {designation_id} in your jurisdiction",
            field="designation_id",
        )
    return designation


def _days(session: Session, designation_id: int) -> tuple[DayFacts, ...]:
    rows = session.scalars(select(RiskAreaDay).where(RiskAreaDay.designation_id == designation_id))
    return tuple(
        DayFacts(
            day=row.day,
            new_infections=row.new_infections,
            new_infections_isolated=row.new_infections_isolated,
            rounds=row.rounds,
            negative_rounds=row.negative_rounds,
            open_cases=row.open_cases,
        )
        for row in rows
    )


def open_cases(*, session: Session, designation_id: int) -> int:
    """Open cases on the latest recorded day (0 when nothing is recorded)."""
    latest = session.scalars(
        select(RiskAreaDay)
        .where(RiskAreaDay.designation_id == designation_id)
        .order_by(RiskAreaDay.day.desc())
        .limit(1)
    ).one_or_none()
    return latest.open_cases if latest else 0


def list_designations(
    *, session: Session, actor: Actor, include_lifted: bool = False
) -> list[RiskDesignation]:
    stmt = select(RiskDesignation).order_by(RiskDesignation.area_path, RiskDesignation.id)
    if not include_lifted:
        stmt = stmt.where(RiskDesignation.status.in_([str(s) for s in OPEN_STATUSES]))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=RiskDesignation.area_path)
    return list(session.scalars(stmt))


def list_public(*, session: Session) -> list[PublicRiskArea]:
    """Current risk areas for anyone: confirmed, not lifted, names and levels only, most severe
    first, then by name."""
    rows = session.execute(
        select(RiskDesignation.name, RiskDesignation.level).where(
            RiskDesignation.status == str(DesignationStatus.CONFIRMED),
            RiskDesignation.level != str(RiskLevel.NORMAL),
        )
    ).all()
    ordered = sorted(rows, key=lambda row: (SEVERITY[RiskLevel(row[1])], row[0]))
    return [PublicRiskArea(name=name, level=level) for name, level in ordered]


def _prefixes(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def risk_status(
    *,
    session: Session,
    area_path: str,
    compound_id: int | None = None,
    building_id: int | None = None,
    unit: int | None = None,
) -> AreaStatus:
    """The risk level at a place (for health codes and pool sizes): the most severe confirmed
    designation of an area containing ``area_path``, of the compound, of the building, or of the
    building's unit. ``normal`` when none covers it."""
    covering = [
        (RiskDesignation.target_kind == str(TargetKind.AREA))
        & RiskDesignation.area_path.in_(_prefixes(area_path))
    ]
    if compound_id is not None:
        covering.append(
            (RiskDesignation.target_kind == str(TargetKind.COMPOUND))
            & (RiskDesignation.compound_id == compound_id)
        )
    if building_id is not None:
        covering.append(
            (RiskDesignation.target_kind == str(TargetKind.BUILDING))
            & (RiskDesignation.building_id == building_id)
        )
        if unit is not None:
            covering.append(
                (RiskDesignation.target_kind == str(TargetKind.UNIT))
                & (RiskDesignation.building_id == building_id)
                & (RiskDesignation.unit == unit)
            )
    condition = covering[0]
    for extra in covering[1:]:
        condition = condition | extra
    rows = session.execute(
        select(RiskDesignation.id, RiskDesignation.level).where(
            RiskDesignation.status == str(DesignationStatus.CONFIRMED), condition
        )
    ).all()
    if not rows:
        return AreaStatus(level=RiskLevel.NORMAL, designation_id=None)
    designation_id, level = min(rows, key=lambda row: (SEVERITY[RiskLevel(row[1])], row[0]))
    return AreaStatus(level=RiskLevel(level), designation_id=designation_id)


def history_of(*, session: Session, designation: RiskDesignation) -> AreaHistory:
    """What the rules read about a designation: its standing and recorded days; for a district
    or the city, how many more severe confirmed designations remain inside it."""
    higher = 0
    if designation.scope != Scope.PLACE:
        more_severe = [
            str(level)
            for level in RiskLevel
            if SEVERITY[level] < SEVERITY[RiskLevel(designation.level)]
        ]
        higher = (
            session.scalar(
                select(func.count())
                .select_from(RiskDesignation)
                .where(
                    RiskDesignation.id != designation.id,
                    RiskDesignation.status == str(DesignationStatus.CONFIRMED),
                    RiskDesignation.level.in_(more_severe),
                    within_path(RiskDesignation.area_path, designation.area_path),
                )
            )
            or 0
        )
    return AreaHistory(
        level=RiskLevel(designation.level),
        designated_level=RiskLevel(designation.designated_level),
        level_since=designation.level_since,
        scope=Scope(designation.scope),
        days=_days(session, designation.id),
        higher_areas_inside=higher,
    )


@dataclass(frozen=True)
class DesignationView:
    """What a designation's page shows: its recorded days (newest first), its history of
    events, and what the pack says about it today (None unless confirmed)."""

    days: tuple[DayFacts, ...]
    events: list[audit.AuditEvent]
    decision: AreaDecision | None


def view_of(*, session: Session, designation: RiskDesignation) -> DesignationView:
    """The page's view of a designation (changes nothing)."""
    now = clock.now()
    history = history_of(session=session, designation=designation)
    decision = None
    if designation.status == DesignationStatus.CONFIRMED:
        section = section_for(
            pack_id=designation.pack_id, version=designation.pack_version, now=now
        )
        decision = evaluate_area(history=history, now=now, section=section)
    return DesignationView(
        days=tuple(sorted(history.days, key=lambda d: d.day, reverse=True)),
        events=audit.events_for(session=session, subject_type=SUBJECT, subject_id=designation.id),
        decision=decision,
    )
