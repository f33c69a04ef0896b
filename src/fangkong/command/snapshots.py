"""The dashboard's population-wide panels, pre-aggregated: for the city and each district, the
active residents, those with a dose, the health-code colours, the coverage of every open test
round and the isolation reserve warning. Counting these means reading every resident (and every
sampled person of a round, every active isolation order for the bed forecast), which takes
seconds on a city of millions; the refresh job does it once for all areas in one scan per table,
and the dashboard reads the stored rows. Streets and smaller areas are still counted live (their
subtrees are small)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fangkong.command.models import AreaSnapshot
from fangkong.core import audit
from fangkong.core.audit import SYSTEM_LABEL
from fangkong.core.scope import Actor, within_path
from fangkong.healthcode.models import HealthCode
from fangkong.isolation import service as isolation_service
from fangkong.isolation.rules import ReserveWarning
from fangkong.registry.enums import AreaLevel, PersonStatus
from fangkong.registry.models import Area, Person
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import TestCampaign, Tube, TubeMember
from fangkong.vaccination.models import DoseRecord

COLOURS = ("green", "yellow", "red")
REFRESH_RULE = "command.snapshots: refreshed by the daily job and `fangkong command refresh`"


def _sums(session: Session, stmt: Any, column: Any, paths: list[str]) -> list[int]:
    """One scan of ``stmt``: how many of its rows fall in each of ``paths``.

    Rows are grouped by the first ``w`` characters of their path, ``w`` the longest of
    ``paths``; a row lies in ``p`` exactly when that prefix starts with ``p`` (``p`` is never
    longer than the prefix), so the groups are added up per area in Python and the scan costs
    the same for 10 areas or 150."""
    if not paths:
        return []
    prefix = func.substr(column, 1, max(len(p) for p in paths))
    grouped = stmt.with_only_columns(prefix, func.count()).group_by(prefix)
    groups = [(str(key), int(n)) for key, n in session.execute(grouped).tuples()]
    return [sum(n for key, n in groups if key.startswith(p)) for p in paths]


def round_part(area_path: str, campaign_path: str) -> str | None:
    """The part of a round's area that counts for an area: the area itself when the round
    covers it, the round's area when the round lies inside it, else nothing."""
    if area_path.startswith(campaign_path):
        return area_path
    if campaign_path.startswith(area_path):
        return campaign_path
    return None


def _rounds(session: Session, areas: list[Area]) -> dict[int, list[dict[str, Any]]]:
    by_area: dict[int, list[dict[str, Any]]] = {a.id: [] for a in areas}
    campaigns = session.scalars(
        select(TestCampaign)
        .where(TestCampaign.status == CampaignStatus.OPEN.value)
        .order_by(TestCampaign.id)
    ).all()
    for campaign in campaigns:
        parts = {
            a.id: part
            for a in areas
            if (part := round_part(a.path, campaign.area_path)) is not None
        }
        if not parts:
            continue
        distinct = sorted(set(parts.values()))
        required = _sums(
            session,
            select(Person.id).where(
                Person.status == PersonStatus.ACTIVE.value,
                within_path(Person.area_path, campaign.area_path),
            ),
            Person.area_path,
            distinct,
        )
        sampled_people = (
            select(TubeMember.person_id, Person.area_path)
            .join(Tube, Tube.id == TubeMember.tube_id)
            .join(Person, Person.id == TubeMember.person_id)
            .where(Tube.campaign_id == campaign.id)
            .distinct()
            .subquery()
        )
        sampled = _sums(
            session,
            select(sampled_people.c.person_id),
            sampled_people.c.area_path,
            distinct,
        )
        per_part = {p: (required[i], sampled[i]) for i, p in enumerate(distinct)}
        for area_id, part in parts.items():
            by_area[area_id].append(
                {
                    "campaign_id": campaign.id,
                    "name": campaign.name,
                    "required": per_part[part][0],
                    "sampled": per_part[part][1],
                }
            )
    return by_area


def _reserve(session: Session, area: Area) -> ReserveWarning:
    """The reserve warning of isolation for the area, as its own headquarters would see it."""
    viewer = Actor(
        user_id=0,
        username=SYSTEM_LABEL,
        role=SYSTEM_LABEL,
        permissions=frozenset(),
        jurisdiction_path=area.path,
    )
    _, _, warning = isolation_service.capacity_and_forecast(
        session=session, actor=viewer, path=area.path
    )
    return warning


def refresh(*, session: Session, now: datetime) -> list[AreaSnapshot]:
    """Recompute the snapshot of the city and every district (replacing the stored rows)."""
    areas = list(
        session.scalars(
            select(Area)
            .where(Area.level.in_([str(AreaLevel.CITY), str(AreaLevel.COUNTY)]))
            .order_by(Area.path)
        )
    )
    if not areas:
        return []
    paths = [a.path for a in areas]
    active = Person.status == PersonStatus.ACTIVE.value
    residents = _sums(session, select(Person.id).where(active), Person.area_path, paths)
    dosed = select(DoseRecord.id).where(DoseRecord.person_id == Person.id).exists()
    vaccinated = _sums(session, select(Person.id).where(active, dosed), Person.area_path, paths)
    codes = {
        colour: _sums(
            session,
            select(Person.id)
            .join(HealthCode, HealthCode.person_id == Person.id)
            .where(HealthCode.colour == colour),
            Person.area_path,
            paths,
        )
        for colour in COLOURS
    }
    rounds = _rounds(session, areas)
    reserves = {area.id: _reserve(session, area) for area in areas}
    session.execute(delete(AreaSnapshot).where(AreaSnapshot.area_id.in_([a.id for a in areas])))
    rows = [
        AreaSnapshot(
            area_id=area.id,
            area_path=area.path,
            computed_at=now,
            residents=residents[i],
            vaccinated=vaccinated[i],
            code_green=codes["green"][i],
            code_yellow=codes["yellow"][i],
            code_red=codes["red"][i],
            rounds=rounds[area.id],
            reserve_short=reserves[area.id].is_short,
            reserve_explanation=reserves[area.id].explanation,
        )
        for i, area in enumerate(areas)
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session=session,
        actor=None,
        action="command.snapshots.refreshed",
        subject_type="command_snapshot",
        subject_id=now.isoformat(),
        after={"areas": len(rows)},
        rule_ref=REFRESH_RULE,
        occurred_at=now,
    )
    return rows


def stored(*, session: Session, path: str) -> AreaSnapshot | None:
    return session.scalars(select(AreaSnapshot).where(AreaSnapshot.area_path == path)).first()
