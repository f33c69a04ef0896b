"""The daily work ledger (工作台账): for one reporting day, what each area under the chosen one
did (the districts of a city, the streets of a district), one column per domain's work: people
sampled, cases reported, contacts traced and handed over, isolation started and released,
transfers checked in, investigations confirmed and supplies delivered. Each column is one
aggregate query with one sum per area, over the rows whose own event time falls in the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.command import rules
from fangkong.command.errors import CommandErrorCode
from fangkong.core.errors import NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.isolation.enums import OrderStatus
from fangkong.isolation.models import IsolationOrder, TransferTask
from fangkong.logistics.enums import TaskStatus
from fangkong.logistics.models import DeliveryTask
from fangkong.registry.models import Area
from fangkong.testing.models import Tube, TubeMember
from fangkong.tracing.enums import CaseStatus
from fangkong.tracing.models import Case, Contact, Investigation

# (key, Chinese heading, English heading): the order of the ledger's columns
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sampled", "采样人次", "People sampled"),
    ("cases", "新增病例", "Cases reported"),
    ("investigations", "完成流调", "Investigations confirmed"),
    ("contacts", "追踪密接", "Contacts traced"),
    ("handed_over", "移交隔离", "Contacts handed to isolation"),
    ("isolated", "新增隔离", "Isolation orders started"),
    ("released", "解除隔离", "Released from isolation"),
    ("transferred", "完成转运", "Transfers checked in"),
    ("deliveries", "配送完成", "Supply deliveries completed"),
)
KEYS = tuple(key for key, _, _ in COLUMNS)
UNPLACED = "未落到下级区域 not in a sub-area"


@dataclass(frozen=True)
class LedgerRow:
    area: Area | None  # None for the total line and for work not placed in a sub-area
    counts: dict[str, int]


@dataclass(frozen=True)
class Ledger:
    day: date
    start: datetime
    end: datetime
    parent: Area
    rows: list[LedgerRow]
    total: LedgerRow


def _measures(start: datetime, end: datetime) -> dict[str, tuple[Select[Any], Any, Any]]:
    """key → (select of the rows to count, their area path column, their event time)."""

    def window(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    return {
        "sampled": (
            select(TubeMember.id).join(Tube, Tube.id == TubeMember.tube_id),
            Tube.area_path,
            window(TubeMember.sampled_at),
        ),
        "cases": (
            select(Case.id).where(Case.status != CaseStatus.VOID),
            Case.area_path,
            window(Case.reported_at),
        ),
        "investigations": (
            select(Investigation.id),
            Investigation.area_path,
            window(Investigation.confirmed_at),
        ),
        "contacts": (select(Contact.id), Contact.area_path, window(Contact.identified_at)),
        "handed_over": (select(Contact.id), Contact.area_path, window(Contact.handed_over_at)),
        "isolated": (
            select(IsolationOrder.id),
            IsolationOrder.area_path,
            window(IsolationOrder.created_at),
        ),
        # a released order changes no more, so its last change is its release
        "released": (
            select(IsolationOrder.id).where(IsolationOrder.status == OrderStatus.RELEASED),
            IsolationOrder.area_path,
            window(IsolationOrder.updated_at),
        ),
        "transferred": (
            select(TransferTask.id),
            TransferTask.area_path,
            window(TransferTask.checked_in_at),
        ),
        "deliveries": (
            select(DeliveryTask.id).where(DeliveryTask.status == TaskStatus.COMPLETED),
            DeliveryTask.area_path,
            window(DeliveryTask.completed_at),
        ),
    }


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def work_ledger(
    *,
    session: Session,
    actor: Actor,
    path: str,
    day: date,
    cutoff_hour: int,
    timezone: str,
) -> Ledger:
    """The ledger of ``day`` for the areas directly under ``path`` (or ``path`` alone when it
    has none), inside the actor's jurisdiction."""
    actor.require(Permission.REPORTS_VIEW)
    actor.require_path(path)
    parent = session.scalars(select(Area).where(Area.path == path)).first()
    if parent is None:
        raise NotFound(CommandErrorCode.AREA_NOT_FOUND, f"no area {path}")
    areas = list(
        session.scalars(select(Area).where(Area.parent_id == parent.id).order_by(Area.path))
    ) or [parent]
    start, end = rules.day_window(day, cutoff_hour=cutoff_hour, timezone=timezone)
    counts: dict[str, list[int]] = {}
    whole: dict[str, int] = {}
    for key, (stmt, path_column, in_day) in _measures(start, end).items():
        counted = stmt.with_only_columns(
            *[_count(within_path(path_column, a.path)) for a in areas], func.count()
        ).where(in_day, within_path(path_column, path))
        counted = scope_to_jurisdiction(counted, actor=actor, path_column=path_column)
        *per_area, everything = (int(v) for v in session.execute(counted).one())
        counts[key], whole[key] = per_area, everything
    rows = [LedgerRow(area, {key: counts[key][i] for key in KEYS}) for i, area in enumerate(areas)]
    # work recorded on the area itself rather than on one of its sub-areas (a district-level
    # address) would otherwise vanish from the rows while staying in the total
    unplaced = {key: whole[key] - sum(counts[key]) for key in KEYS}
    if areas != [parent] and any(unplaced.values()):
        rows.append(LedgerRow(None, unplaced))
    total = LedgerRow(None, whole)
    return Ledger(day=day, start=start, end=end, parent=parent, rows=rows, total=total)


def table(ledger: Ledger) -> tuple[list[str], list[list[object]]]:
    """Headings and rows for the .xlsx and CSV exports (the total line last)."""
    headers = ["区域 area", "代码 code"] + [f"{zh} {en}" for _, zh, en in COLUMNS]
    body: list[list[object]] = [
        [row.area.name if row.area else UNPLACED, row.area.code if row.area else ""]
        + [row.counts[key] for key in KEYS]
        for row in ledger.rows
    ]
    body.append(["合计 total", ""] + [ledger.total.counts[key] for key in KEYS])
    return headers, body
