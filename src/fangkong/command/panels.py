"""The live panels of the command dashboard (not from the stored daily figures): the epidemic
curve by onset date, positive pools and turnaround of the last day, the current round's
coverage, isolation beds, overdue transfers, health-code colours and vaccination coverage. Every
query is one aggregate over the selected area inside the actor's jurisdiction. The panels that
count every resident (coverage, codes, vaccination) read the area's snapshot when it has one
(the city and the districts, see snapshots.py) and are counted live for smaller areas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.areas.enums import DesignationStatus
from fangkong.areas.models import RiskDesignation
from fangkong.command import rules, snapshots
from fangkong.command.models import AreaSnapshot
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.healthcode.models import HealthCode
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import TransferStatus
from fangkong.isolation.models import TransferTask
from fangkong.registry.enums import PersonStatus
from fangkong.registry.models import Area, Person
from fangkong.testing import monitoring
from fangkong.testing import rules as testing_rules
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import Alert, Tube, TubeMember, TubeOutcome
from fangkong.tracing.enums import CaseKind, CaseStatus
from fangkong.tracing.models import Case
from fangkong.vaccination.models import DoseRecord

HEALTH_COLOURS = ("green", "yellow", "red")


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class RoundCoverage:
    campaign_id: int
    name: str
    required: int
    sampled: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.sampled / self.required, 1) if self.required else 100.0


@dataclass(frozen=True)
class Beds:
    total: int
    occupied: int
    free: int
    is_short: bool
    explanation: str


@dataclass(frozen=True)
class Panels:
    open_positive_pools: int
    turnaround: testing_rules.Distribution  # seconds, results of the last 24 hours
    rounds: list[RoundCoverage]
    beds: Beds | None  # None when the actor may not see isolation
    overdue_transfers: int
    codes: dict[str, int]  # colour → people
    residents: int
    vaccinated: int  # residents with at least one dose
    as_of: datetime | None = None  # when coverage, codes and vaccination come from a snapshot

    @property
    def vaccinated_percent(self) -> float:
        return round(100.0 * self.vaccinated / self.residents, 1) if self.residents else 0.0


def _scoped_count(session: Session, stmt: Select[Any], *, actor: Actor, column: Any) -> int:
    scoped = scope_to_jurisdiction(stmt, actor=actor, path_column=column)
    return int(session.scalar(scoped) or 0)


def onset_curve(
    *, session: Session, actor: Actor, path: str, first: date, last: date
) -> list[tuple[date, int, int]]:
    """(onset day, confirmed, asymptomatic) for every day ``first..last``; cases with no onset
    date (most asymptomatic ones) are not drawn."""
    actor.require(Permission.REPORTS_VIEW)
    stmt = (
        select(Case.onset_date, Case.kind, func.count())
        .where(
            Case.status != CaseStatus.VOID,
            Case.onset_date.is_not(None),
            Case.onset_date >= first,
            Case.onset_date <= last,
            within_path(Case.area_path, path),
        )
        .group_by(Case.onset_date, Case.kind)
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Case.area_path)
    counts: dict[tuple[date, str], int] = {}
    for day, kind, count in session.execute(stmt).tuples():
        if day is not None:
            counts[(day, kind)] = int(count)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        (
            day,
            counts.get((day, CaseKind.CONFIRMED.value), 0),
            counts.get((day, CaseKind.ASYMPTOMATIC.value), 0),
        )
        for day in days
    ]


def _rounds(*, session: Session, actor: Actor, path: str) -> list[RoundCoverage]:
    """Sampled / required of the open rounds that overlap ``path``."""
    rows = []
    for campaign in monitoring.list_campaigns(session=session, actor=actor):
        if campaign.status != CampaignStatus.OPEN.value:
            continue
        part = path if path.startswith(campaign.area_path) else campaign.area_path
        if not part.startswith(path) and not path.startswith(campaign.area_path):
            continue
        required = session.scalar(
            select(func.count()).where(
                within_path(Person.area_path, part), Person.status == PersonStatus.ACTIVE.value
            )
        )
        sampled = session.scalar(
            select(func.count(func.distinct(TubeMember.person_id)))
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(Person, Person.id == TubeMember.person_id)
            .where(Tube.campaign_id == campaign.id, within_path(Person.area_path, part))
        )
        rows.append(
            RoundCoverage(campaign.id, campaign.name, int(required or 0), int(sampled or 0))
        )
    return rows


def _codes(*, session: Session, actor: Actor, path: str) -> dict[str, int]:
    code_stmt = scope_to_jurisdiction(
        select(HealthCode.colour, func.count())
        .join(Person, Person.id == HealthCode.person_id)
        .where(within_path(Person.area_path, path))
        .group_by(HealthCode.colour),
        actor=actor,
        path_column=Person.area_path,
    )
    codes = dict.fromkeys(HEALTH_COLOURS, 0)
    for colour, count in session.execute(code_stmt).tuples():
        codes[colour] = int(count)
    return codes


def _residents(*, session: Session, actor: Actor, path: str) -> tuple[int, int]:
    """(active residents, those with at least one dose) of ``path``."""
    active = (Person.status == PersonStatus.ACTIVE.value, within_path(Person.area_path, path))
    residents = _scoped_count(
        session, select(func.count()).where(*active), actor=actor, column=Person.area_path
    )
    dosed = select(DoseRecord.id).where(DoseRecord.person_id == Person.id).exists()
    vaccinated = _scoped_count(
        session,
        select(func.count()).where(*active, dosed),
        actor=actor,
        column=Person.area_path,
    )
    return residents, vaccinated


def _turnaround(
    *, session: Session, actor: Actor, path: str, now: datetime
) -> testing_rules.Distribution:
    """Count, p50, p90 (nearest rank) and maximum of the turnaround of the results of the 24
    hours before ``now``, each picked by the database from the index rather than every value
    of a city's day brought into Python."""
    values = scope_to_jurisdiction(
        select(TubeOutcome.turnaround_seconds).where(
            TubeOutcome.result_at >= now - timedelta(days=1),
            TubeOutcome.result_at < now,
            within_path(TubeOutcome.area_path, path),
        ),
        actor=actor,
        path_column=TubeOutcome.area_path,
    )
    count = int(session.scalar(values.with_only_columns(func.count())) or 0)
    if not count:
        return testing_rules.Distribution(0, None, None, None)

    def ranked(fraction: float) -> int:
        rank = max(1, math.ceil(fraction * count))
        ordered = values.order_by(TubeOutcome.turnaround_seconds).offset(rank - 1).limit(1)
        return int(session.scalar(ordered) or 0)

    maximum = session.scalar(values.with_only_columns(func.max(TubeOutcome.turnaround_seconds)))
    return testing_rules.Distribution(count, ranked(0.5), ranked(0.9), int(maximum or 0))


def panels(*, session: Session, actor: Actor, path: str, now: datetime) -> Panels:
    """All panels for the area ``path`` (inside the actor's jurisdiction) at ``now``."""
    actor.require(Permission.REPORTS_VIEW)
    pools = _scoped_count(
        session,
        select(func.count()).where(Alert.status == "open", within_path(Alert.area_path, path)),
        actor=actor,
        column=Alert.area_path,
    )
    turnaround = _turnaround(session=session, actor=actor, path=path, now=now)
    snapshot = snapshots.stored(session=session, path=path) if actor.covers_path(path) else None
    beds = None
    if actor.can(Permission.ISOLATION_VIEW):
        if snapshot is not None:
            facilities = isolation_service.facility_beds(session=session, actor=actor, path=path)
            is_short, explanation = snapshot.reserve_short, snapshot.reserve_explanation
        else:
            facilities, _, warning = isolation_service.capacity_and_forecast(
                session=session, actor=actor, path=path
            )
            is_short, explanation = warning.is_short, warning.explanation
        beds = Beds(
            total=sum(f.beds for f in facilities),
            occupied=sum(f.occupied for f in facilities),
            free=sum(f.free for f in facilities),
            is_short=is_short,
            explanation=explanation,
        )
    overdue = _scoped_count(
        session,
        select(func.count()).where(
            TransferTask.status != TransferStatus.CHECKED_IN.value,
            TransferTask.deadline_at < now,
            within_path(TransferTask.area_path, path),
        ),
        actor=actor,
        column=TransferTask.area_path,
    )
    if snapshot is not None:
        codes = {
            "green": snapshot.code_green,
            "yellow": snapshot.code_yellow,
            "red": snapshot.code_red,
        }
        residents, vaccinated = snapshot.residents, snapshot.vaccinated
        rounds = [
            RoundCoverage(r["campaign_id"], r["name"], r["required"], r["sampled"])
            for r in snapshot.rounds
        ]
    else:
        codes = _codes(session=session, actor=actor, path=path)
        residents, vaccinated = _residents(session=session, actor=actor, path=path)
        rounds = _rounds(session=session, actor=actor, path=path)
    return Panels(
        open_positive_pools=pools,
        turnaround=turnaround,
        rounds=rounds,
        beds=beds,
        overdue_transfers=overdue,
        codes=codes,
        residents=residents,
        vaccinated=vaccinated,
        as_of=snapshot.computed_at if snapshot is not None else None,
    )


@dataclass(frozen=True)
class MapArea:
    area: Area
    population: int  # active residents
    current_cases: int  # cases not yet discharged, dead or void
    risk_areas: int  # confirmed risk designations in force inside the area

    @property
    def rate(self) -> float:
        return rules.per_100k(self.current_cases, self.population)


def map_areas(*, session: Session, actor: Actor, parent_path: str) -> list[MapArea]:
    """The areas directly under ``parent_path`` with their population, current cases and risk
    areas in force, each figure one grouped query over the subtree (the populations from the
    snapshots when every area has one)."""
    actor.require(Permission.REPORTS_VIEW)
    actor.require_path(parent_path)
    parent = session.scalars(select(Area).where(Area.path == parent_path)).first()
    if parent is None:
        return []
    children = list(
        session.scalars(select(Area).where(Area.parent_id == parent.id).order_by(Area.path))
    )
    if not children:
        return []

    def per_child(stmt: Any, column: Any) -> list[int]:
        counted = stmt.with_only_columns(*[_count(within_path(column, c.path)) for c in children])
        counted = scope_to_jurisdiction(counted, actor=actor, path_column=column)
        return [int(v) for v in session.execute(counted).one()]

    stored = {
        row.area_path: row.residents
        for row in session.scalars(
            select(AreaSnapshot).where(AreaSnapshot.area_path.in_([c.path for c in children]))
        )
    }
    # the districts of a city have snapshots: their populations are not counted again
    if all(c.path in stored and actor.covers_path(c.path) for c in children):
        people = [stored[c.path] for c in children]
    else:
        people = per_child(
            select(Person.id).where(
                Person.status == PersonStatus.ACTIVE.value,
                within_path(Person.area_path, parent_path),
            ),
            Person.area_path,
        )
    cases = per_child(
        select(Case.id).where(
            Case.status.not_in([CaseStatus.DISCHARGED, CaseStatus.DIED, CaseStatus.VOID]),
            within_path(Case.area_path, parent_path),
        ),
        Case.area_path,
    )
    risks = per_child(
        select(RiskDesignation.id).where(
            RiskDesignation.status == DesignationStatus.CONFIRMED,
            within_path(RiskDesignation.area_path, parent_path),
        ),
        RiskDesignation.area_path,
    )
    return [MapArea(child, people[i], cases[i], risks[i]) for i, child in enumerate(children)]
