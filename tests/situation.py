"""Facts owned by other domains that the supply, volunteer and pass tests stand on: a confirmed
risk designation over a place, and a person's stored health code. Written as rows, the way the
areas and health-code domains leave them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.areas.enums import DesignationStatus, RiskLevel, Scope, TargetKind
from fangkong.areas.models import RiskDesignation
from fangkong.healthcode.models import HealthCode
from fangkong.registry.models import Area, Building

SINCE = datetime(2022, 11, 10, tzinfo=UTC)


def lock_down(
    session: Session,
    *,
    building: Building | None = None,
    area: Area | None = None,
    level: RiskLevel = RiskLevel.HIGH,
) -> RiskDesignation:
    """A confirmed designation of ``building`` (or of the whole ``area``) at ``level``."""
    assert (building is None) != (area is None)
    designation = RiskDesignation(
        target_kind=TargetKind.BUILDING if building else TargetKind.AREA,
        area_id=area.id if area else None,
        building_id=building.id if building else None,
        unit=None,
        name=building.label if building else area.name if area else "",
        area_path=building.area_path if building else area.path if area else "",
        scope=Scope.PLACE,
        level=level,
        designated_level=level,
        level_since=date(2022, 11, 10),
        controls=["stay_home"],
        status=DesignationStatus.CONFIRMED,
        since=SINCE,
        pack_id="cn-20",
        pack_version=1,
        rule_id="test.lock_down",
        created_at=SINCE,
        updated_at=SINCE,
    )
    session.add(designation)
    session.flush()
    return designation


def give_health_code(session: Session, person_id: int, colour: str) -> HealthCode:
    """Store ``colour`` as the person's current code (replacing any earlier one)."""
    code = session.get(HealthCode, person_id)
    if code is None:
        code = HealthCode(person_id=person_id, revision=1)
        session.add(code)
    code.colour = colour
    code.rule_id = f"test.{colour}"
    code.pack_id = "cn-20"
    code.pack_version = 1
    code.reasons = []
    code.decided_at = SINCE
    code.valid_until = None
    session.flush()
    return code
