"""Command-centre services: the day's figures computed set-based from the domain tables at the
cut-off hour and stored (recomputing a day replaces its rows), the bulletin archive, and the
四应四尽 lists with their per-district counts and drill-down to (masked) people."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, false, func, or_, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.areas.enums import DesignationStatus
from fangkong.areas.models import RiskDesignation
from fangkong.command import rules
from fangkong.command.enums import ListKind
from fangkong.command.errors import CommandErrorCode
from fangkong.command.models import Bulletin, DailyFigures
from fangkong.core import audit
from fangkong.core.errors import FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.isolation.enums import OrderStatus, PhaseKind
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.enums import AreaLevel
from fangkong.registry.models import Area, Person
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import TestCampaign, Tube, TubeMember, TubeResult
from fangkong.tracing.enums import CaseKind, CaseStatus, ContactStatus
from fangkong.tracing.models import Case, Contact

REPORTING_LEVELS = (str(AreaLevel.CITY), str(AreaLevel.COUNTY))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def common_root(paths: Sequence[str]) -> str:
    """The deepest area path that holds every one of ``paths``."""
    parts = [p.strip("/").split("/") for p in paths]
    shared: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return "/" + "".join(f"{part}/" for part in shared if part)


def _grouped(
    session: Session, columns: list[Any], path_column: Any, paths: Sequence[str], stmt: Any
) -> dict[str, list[int]]:
    """Sum each of ``columns`` over the rows of ``stmt`` for every area of ``paths``, in one
    scan: rows are grouped by the first ``w`` characters of their path (``w`` the longest of
    ``paths``), and a row lies in ``p`` exactly when that prefix starts with ``p``."""
    prefix = func.substr(path_column, 1, max(len(p) for p in paths))
    grouped = (
        stmt.with_only_columns(prefix, *columns)
        .where(within_path(path_column, common_root(paths)))
        .group_by(prefix)
    )
    groups = [(str(row[0]), [int(v) for v in row[1:]]) for row in session.execute(grouped)]
    return {
        p: [
            sum(values[k] for key, values in groups if key.startswith(p))
            for k in range(len(columns))
        ]
        for p in paths
    }


def _tests(
    session: Session,
    paths: Sequence[str],
    start: datetime,
    end: datetime,
    previous: Mapping[str, int] | None,
) -> dict[str, list[int]]:
    """[tests of the day, cumulative tests] per area. With the previous day's cumulative counts
    only the tubes with a result in the day are read (their first result may be older);
    without, every tube with a result before the cut-off."""
    window = _in(TubeResult.reported_at, start, end)
    first = select(TubeResult.tube_id, func.min(TubeResult.reported_at).label("first_at")).where(
        TubeResult.tube_id.is_not(None), TubeResult.reported_at < end
    )
    if previous is not None:
        resulted = select(TubeResult.tube_id).where(window).scalar_subquery()
        first = first.where(TubeResult.tube_id.in_(resulted))
    first_result = first.group_by(TubeResult.tube_id).subquery()
    # a tube's member_count is kept by sampling with every person added, so the people tested
    # are summed per tube rather than joined member by member
    in_day = _in(first_result.c.first_at, start, end)
    counted = _grouped(
        session,
        [
            func.coalesce(func.sum(case((in_day, Tube.member_count), else_=0)), 0),
            func.coalesce(func.sum(Tube.member_count), 0),
        ],
        Tube.area_path,
        paths,
        select(Tube.id).join(first_result, first_result.c.tube_id == Tube.id),
    )
    if previous is None:
        return counted
    return {p: [counted[p][0], previous[p] + counted[p][0]] for p in paths}


def compute_all(
    *,
    session: Session,
    paths: Sequence[str],
    start: datetime,
    end: datetime,
    previous_tests: Mapping[str, int] | None = None,
) -> dict[str, rules.Figures]:
    """The figures of each subtree of ``paths`` for the day ``[start, end)`` (UTC), from the
    domain tables, in four grouped queries (cases, tests, risk areas, isolation orders) however
    many areas are asked for. ``previous_tests`` (the cumulative tests of every area at the
    previous cut-off) spares reading every tube ever resulted."""
    confirmed = Case.kind == CaseKind.CONFIRMED
    asymptomatic = Case.kind == CaseKind.ASYMPTOMATIC
    confirmed_at = func.coalesce(Case.reclassified_at, Case.reported_at)
    first_asymptomatic = or_(asymptomatic, Case.reclassified_at.is_not(None))
    cured = and_(confirmed, Case.status == CaseStatus.DISCHARGED)
    died = and_(confirmed, Case.status == CaseStatus.DIED)
    released = and_(asymptomatic, Case.status == CaseStatus.DISCHARGED)
    cases = _grouped(
        session,
        [
            _count(and_(confirmed, _in(confirmed_at, start, end))),
            _count(and_(confirmed, confirmed_at < end)),
            _count(and_(first_asymptomatic, _in(Case.reported_at, start, end))),
            _count(and_(first_asymptomatic, Case.reported_at < end)),
            _count(_in(Case.reclassified_at, start, end)),
            _count(Case.reclassified_at < end),
            _count(and_(cured, _in(Case.outcome_at, start, end))),
            _count(and_(cured, Case.outcome_at < end)),
            _count(and_(died, _in(Case.outcome_at, start, end))),
            _count(and_(died, Case.outcome_at < end)),
            _count(and_(released, _in(Case.outcome_at, start, end))),
            _count(and_(released, Case.outcome_at < end)),
            _count(
                and_(
                    confirmed,
                    confirmed_at < end,
                    or_(
                        Case.status.not_in([CaseStatus.DISCHARGED, CaseStatus.DIED]),
                        Case.outcome_at >= end,
                    ),
                )
            ),
            _count(
                and_(
                    asymptomatic,
                    Case.reported_at < end,
                    or_(Case.status != CaseStatus.DISCHARGED, Case.outcome_at >= end),
                )
            )
            # a case reclassified after the cut-off was still asymptomatic at it
            + _count(and_(confirmed, Case.reclassified_at >= end, Case.reported_at < end)),
        ],
        Case.area_path,
        paths,
        select(Case.id).where(Case.status != CaseStatus.VOID),
    )
    tests = _tests(session, paths, start, end, previous_tests)
    lifted = RiskDesignation.status == DesignationStatus.LIFTED
    risk = _grouped(
        session,
        [
            _count(_in(RiskDesignation.since, start, end)),
            _count(and_(lifted, _in(RiskDesignation.updated_at, start, end))),
            _count(
                and_(
                    RiskDesignation.since < end,
                    or_(~lifted, RiskDesignation.updated_at >= end),
                )
            ),
        ],
        RiskDesignation.area_path,
        paths,
        select(RiskDesignation.id).where(
            RiskDesignation.status.in_([DesignationStatus.CONFIRMED, DesignationStatus.LIFTED])
        ),
    )
    in_order = and_(
        IsolationOrder.created_at < end,
        or_(IsolationOrder.status == OrderStatus.ACTIVE, IsolationOrder.updated_at >= end),
    )
    orders = _grouped(
        session,
        [
            _count(and_(in_order, IsolationOrder.kind == PhaseKind.CENTRALISED)),
            _count(and_(in_order, IsolationOrder.kind == PhaseKind.HOME_ISOLATION)),
        ],
        IsolationOrder.area_path,
        paths,
        select(IsolationOrder.id),
    )
    return {
        p: rules.Figures(
            new_confirmed=cases[p][0],
            cumulative_confirmed=cases[p][1],
            new_asymptomatic=cases[p][2],
            cumulative_asymptomatic=cases[p][3],
            reclassified=cases[p][4],
            cumulative_reclassified=cases[p][5],
            new_cured=cases[p][6],
            cumulative_cured=cases[p][7],
            new_deaths=cases[p][8],
            cumulative_deaths=cases[p][9],
            new_released=cases[p][10],
            cumulative_released=cases[p][11],
            under_treatment=cases[p][12],
            under_observation=cases[p][13],
            tests=tests[p][0],
            cumulative_tests=tests[p][1],
            risk_areas_added=risk[p][0],
            risk_areas_lifted=risk[p][1],
            risk_areas_in_force=risk[p][2],
            centralised_isolation=orders[p][0],
            home_isolation=orders[p][1],
        )
        for p in paths
    }


def compute_figures(
    *, session: Session, path: str, start: datetime, end: datetime
) -> rules.Figures:
    """The figures of the subtree ``path`` alone (see :func:`compute_all`)."""
    return compute_all(session=session, paths=[path], start=start, end=end)[path]


def reporting_areas(*, session: Session, under_path: str) -> list[Area]:
    """The city and district areas (the bulletin's rows) inside ``under_path``, by path."""
    return list(
        session.scalars(
            select(Area)
            .where(Area.level.in_(REPORTING_LEVELS), within_path(Area.path, under_path))
            .order_by(Area.path)
        )
    )


def _root_path(actor: Actor | None) -> str:
    if actor is None:
        return "/"
    if actor.jurisdiction_path is None:
        raise FangkongError(CommandErrorCode.AREA_NOT_FOUND, "you have no area jurisdiction")
    return actor.jurisdiction_path


def _cutoff_ref(cutoff_hour: int) -> str:
    """What a system-made figure cites: the local setting that fixes the day's cut-off."""
    return f"setting:FANGKONG_BULLETIN_CUTOFF_HOUR={cutoff_hour}"


def _check_cutoff(cutoff_hour: int) -> None:
    if not rules.cutoff_hour_valid(cutoff_hour):
        raise FangkongError(
            CommandErrorCode.BAD_CUTOFF, f"the cut-off hour is 1..24, not {cutoff_hour}"
        )


def compute_day(
    *,
    session: Session,
    actor: Actor | None,
    day: date,
    now: datetime,
    cutoff_hour: int,
    timezone: str,
) -> list[DailyFigures]:
    """Compute and store the figures of ``day`` for every city and district in the actor's
    jurisdiction (all of them for a job, ``actor=None``). Recomputing replaces the day's rows."""
    if actor is not None:
        actor.require(Permission.REPORTS_VIEW)
    _check_cutoff(cutoff_hour)
    start, end = rules.day_window(day, cutoff_hour=cutoff_hour, timezone=timezone)
    if start > now:
        raise FangkongError(CommandErrorCode.DAY_IN_FUTURE, f"{day} has not started yet")
    areas = reporting_areas(session=session, under_path=_root_path(actor))
    if not areas:
        return []
    session.execute(
        delete(DailyFigures).where(
            DailyFigures.day == day, DailyFigures.area_id.in_([a.id for a in areas])
        )
    )
    previous = {
        path: int(total)
        for path, total in session.execute(
            select(DailyFigures.area_path, DailyFigures.cumulative_tests).where(
                DailyFigures.day == day - timedelta(days=1),
                DailyFigures.area_id.in_([a.id for a in areas]),
                DailyFigures.cutoff_at == start,
            )
        ).tuples()
    }
    rows = []
    computed = compute_all(
        session=session,
        paths=[a.path for a in areas],
        start=start,
        end=end,
        # the previous day's totals carry on only when every area has one at this cut-off
        previous_tests=previous if len(previous) == len(areas) else None,
    )
    for area in areas:
        figures = computed[area.path]
        row = DailyFigures(
            area_id=area.id,
            area_path=area.path,
            day=day,
            cutoff_at=end,
            computed_at=now,
            **figures.as_dict(),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="command.figures.computed",
        subject_type="command_day",
        subject_id=day.isoformat(),
        after={"areas": len(rows), "cutoff_at": end.isoformat()},
        rule_ref=_cutoff_ref(cutoff_hour),
        occurred_at=now,
    )
    return rows


def figures_of(row: DailyFigures) -> rules.Figures:
    return rules.Figures(**{name: getattr(row, name) for name in rules.Figures.names()})


def stored_figures(
    *, session: Session, actor: Actor, path: str, first: date, last: date
) -> list[DailyFigures]:
    """Stored figures of one area for the days ``first..last``, oldest first."""
    actor.require(Permission.REPORTS_VIEW)
    stmt = select(DailyFigures).where(
        DailyFigures.area_path == path, DailyFigures.day >= first, DailyFigures.day <= last
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=DailyFigures.area_path)
    return list(session.scalars(stmt.order_by(DailyFigures.day)))


def latest_figures(*, session: Session, actor: Actor, path: str) -> DailyFigures | None:
    actor.require(Permission.REPORTS_VIEW)
    stmt = select(DailyFigures).where(DailyFigures.area_path == path)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=DailyFigures.area_path)
    return session.scalars(stmt.order_by(DailyFigures.day.desc()).limit(1)).first()


def district_figures(
    *, session: Session, actor: Actor, parent_path: str, day: date
) -> list[tuple[Area, DailyFigures]]:
    """The stored figures of the districts directly under ``parent_path`` for ``day``."""
    actor.require(Permission.REPORTS_VIEW)
    parent = session.scalars(select(Area).where(Area.path == parent_path)).first()
    if parent is None:
        return []
    stmt = (
        select(Area, DailyFigures)
        .join(DailyFigures, DailyFigures.area_id == Area.id)
        .where(Area.parent_id == parent.id, DailyFigures.day == day)
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=DailyFigures.area_path)
    return [(a, f) for a, f in session.execute(stmt.order_by(Area.path)).tuples()]


def generate_bulletins(
    *,
    session: Session,
    actor: Actor | None,
    day: date,
    now: datetime,
    cutoff_hour: int,
    timezone: str,
) -> list[Bulletin]:
    """Compute the day's figures and write (or rewrite) the bulletin of every city in the
    jurisdiction; districts are named in the city's text."""
    rows = compute_day(
        session=session,
        actor=actor,
        day=day,
        now=now,
        cutoff_hour=cutoff_hour,
        timezone=timezone,
    )
    by_area = {row.area_id: row for row in rows}
    areas = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(list(by_area))))}
    bulletins = []
    for row in rows:
        area = areas[row.area_id]
        if area.level != AreaLevel.CITY:
            continue
        districts = {
            a.name: figures_of(by_area[a.id])
            for a in sorted(areas.values(), key=lambda a: a.path)
            if a.parent_id == area.id and a.id in by_area
        }
        texts = {
            "city": area.name,
            "day": day,
            "cutoff_hour": cutoff_hour,
            "figures": figures_of(row),
            "districts": districts,
        }
        bulletin = session.scalars(
            select(Bulletin).where(Bulletin.area_id == area.id, Bulletin.day == day)
        ).first()
        if bulletin is None:
            bulletin = Bulletin(area_id=area.id, area_path=area.path, day=day)
            session.add(bulletin)
        bulletin.cutoff_at = row.cutoff_at
        bulletin.text_zh = rules.bulletin_zh(**texts)  # type: ignore[arg-type]
        bulletin.text_en = rules.bulletin_en(**texts)  # type: ignore[arg-type]
        bulletin.generated_at = now
        bulletin.generated_by_user_id = actor.user_id if actor else None
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="command.bulletin.generated",
            subject_type="command_bulletin",
            subject_id=bulletin.id,
            after={"day": day.isoformat(), "area": area.code},
            rule_ref=_cutoff_ref(cutoff_hour),
            occurred_at=now,
        )
        bulletins.append(bulletin)
    return bulletins


def list_bulletins(*, session: Session, actor: Actor, limit: int = 60) -> list[Bulletin]:
    actor.require(Permission.REPORTS_VIEW)
    stmt = scope_to_jurisdiction(select(Bulletin), actor=actor, path_column=Bulletin.area_path)
    return list(session.scalars(stmt.order_by(Bulletin.day.desc(), Bulletin.id).limit(limit)))


def get_bulletin(*, session: Session, actor: Actor, bulletin_id: int) -> Bulletin:
    actor.require(Permission.REPORTS_VIEW)
    stmt = scope_to_jurisdiction(
        select(Bulletin).where(Bulletin.id == bulletin_id),
        actor=actor,
        path_column=Bulletin.area_path,
    )
    bulletin = session.scalars(stmt).first()
    if bulletin is None:
        raise NotFound(CommandErrorCode.BULLETIN_NOT_FOUND, f"no bulletin {bulletin_id}")
    return bulletin


# 四应四尽 lists


@dataclass(frozen=True)
class ListRow:
    person_id: int
    name: str  # masked
    id_number: str | None  # masked
    area_path: str
    detail: str
    since: datetime | None


def _current_campaigns(*, session: Session, now: datetime) -> Sequence[TestCampaign]:
    """The rounds that count for 应检尽检: open ones and closed ones whose window holds ``now``."""
    return session.scalars(
        select(TestCampaign).where(
            or_(
                TestCampaign.status == CampaignStatus.OPEN,
                and_(TestCampaign.starts_at <= now, TestCampaign.ends_at > now),
            )
        )
    ).all()


def _list_query(*, session: Session, kind: ListKind, now: datetime) -> tuple[Any, Any]:
    """(select of person, detail, since, path) and its path column, for one list."""
    if kind is ListKind.TEST:
        campaigns = _current_campaigns(session=session, now=now)
        conditions = [
            and_(
                within_path(Person.area_path, c.area_path),
                ~exists(
                    select(TubeMember.id)
                    .join(Tube, Tube.id == TubeMember.tube_id)
                    .where(TubeMember.person_id == Person.id, Tube.campaign_id == c.id)
                ),
            )
            for c in campaigns
        ]
        stmt = select(Person, Person.status, Person.created_at, Person.area_path).where(
            Person.status == "active", or_(*conditions) if conditions else false()
        )
        return stmt, Person.area_path
    if kind is ListKind.ISOLATE:
        stmt = (
            select(Person, Contact.category, Contact.identified_at, Contact.area_path)
            .join(Person, Person.id == Contact.person_id)
            .where(Contact.status == ContactStatus.IDENTIFIED)
        )
        return stmt, Contact.area_path
    statuses = (
        [CaseStatus.REPORTED, CaseStatus.TRANSFERRED]
        if kind is ListKind.ADMIT
        else [CaseStatus.IN_HOSPITAL, CaseStatus.IN_SHELTER_HOSPITAL]
    )
    stmt = (
        select(Person, Case.status, Case.reported_at, Case.area_path)
        .join(Person, Person.id == Case.person_id)
        .where(Case.status.in_(statuses))
    )
    return stmt, Case.area_path


def list_counts(
    *, session: Session, actor: Actor, kind: ListKind, now: datetime
) -> list[tuple[int, Area, int]]:
    """(rank, district, count) for each district in the jurisdiction, fewest outstanding first
    (the actor's own area when it lies below a district)."""
    actor.require(Permission.REPORTS_VIEW)
    root = _root_path(actor)
    groups = [
        a for a in reporting_areas(session=session, under_path=root) if a.level == AreaLevel.COUNTY
    ]
    if not groups:
        groups = list(session.scalars(select(Area).where(Area.path == root)))
    stmt, path_column = _list_query(session=session, kind=kind, now=now)
    counted = stmt.with_only_columns(
        *[_count(within_path(path_column, g.path)) for g in groups]
    ).order_by(None)
    counted = scope_to_jurisdiction(counted, actor=actor, path_column=path_column)
    values = session.execute(counted).one() if groups else ()
    by_name = {g.name: int(v) for g, v in zip(groups, values, strict=True)}
    area_of = {g.name: g for g in groups}
    return [(rank, area_of[name], count) for rank, name, count in rules.ranking(by_name)]


def list_total(*, session: Session, actor: Actor, kind: ListKind, now: datetime) -> int:
    """How many people are on one list inside the actor's jurisdiction (for the role homes: a
    grid worker sees the count of their own grid without the command centre's lists)."""
    stmt, path_column = _list_query(session=session, kind=kind, now=now)
    counted = stmt.with_only_columns(func.count()).order_by(None)
    counted = scope_to_jurisdiction(counted, actor=actor, path_column=path_column)
    return int(session.scalar(counted) or 0)


def list_people(
    *,
    session: Session,
    actor: Actor,
    kind: ListKind,
    now: datetime,
    path: str | None = None,
    limit: int = 500,
) -> list[ListRow]:
    """The people on one list inside the jurisdiction (and ``path`` when given), masked."""
    actor.require(Permission.REPORTS_VIEW)
    stmt, path_column = _list_query(session=session, kind=kind, now=now)
    if path:
        stmt = stmt.where(within_path(path_column, path))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=path_column)
    rows = session.execute(stmt.order_by(path_column, Person.id).limit(limit)).tuples()
    return [
        ListRow(
            person_id=person.id,
            name=rules.mask_name(person.name),
            id_number=person.id_number_masked,
            area_path=area_path,
            detail=str(detail),
            since=since,
        )
        for person, detail, since, area_path in rows
    ]


def today_window_start(now: datetime, *, days: int) -> date:
    return (now - timedelta(days=days)).date()
