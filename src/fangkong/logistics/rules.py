"""Pure rules of the logistics domain: who is served first."""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.areas.enums import RiskLevel
from fangkong.logistics.enums import MedicalNeed, SupplyKind
from fangkong.registry.enums import PersonTag

# Points per circumstance; a request's priority is the sum, highest served first. Medical care
# that cannot wait (dialysis is typically three sessions a week) outranks everything; then the
# people who cannot fetch anything for themselves. Local working order, adjust here.
NEED_POINTS = {
    MedicalNeed.DIALYSIS: 100,
    MedicalNeed.PREGNANCY_CHECK: 60,
    MedicalNeed.CHRONIC_MEDICINE: 40,
    MedicalNeed.OTHER: 30,
}
TAG_POINTS = {
    PersonTag.DIALYSIS: 50,
    PersonTag.BEDRIDDEN: 40,
    PersonTag.PREGNANT: 30,
    PersonTag.ELDERLY_ALONE: 30,
    PersonTag.DISABLED: 25,
    PersonTag.CHRONIC_MEDICINE: 15,
}
FORMULA_POINTS = 35  # an infant cannot wait for the next delivery round
# Households served by delivery: those whose residence lies in a confirmed high- or medium-risk
# designation (封控区 / 管控区: residents may not go out to shop). Elsewhere shops are open.
CONTROLLED_LEVELS = frozenset({RiskLevel.HIGH, RiskLevel.MEDIUM})
# The only health-code colour a volunteer may register with.
GREEN = "green"


@dataclass(frozen=True)
class Priority:
    points: int
    reasons: tuple[str, ...]  # what earned the points, e.g. "tag:elderly_alone"


def priority_for(
    *, household_tags: int, kind: SupplyKind, medical_need: MedicalNeed | None
) -> Priority:
    """The priority of a request from a household whose members' tags, OR-ed, are
    ``household_tags``."""
    points = 0
    reasons: list[str] = []
    if medical_need is not None:
        points += NEED_POINTS[medical_need]
        reasons.append(f"need:{medical_need}")
    if kind is SupplyKind.FORMULA:
        points += FORMULA_POINTS
        reasons.append("kind:formula")
    for tag, tag_points in TAG_POINTS.items():
        if household_tags & tag:
            points += tag_points
            reasons.append(f"tag:{str(tag.name).lower()}")
    return Priority(points, tuple(reasons))


def needs_medical_detail(kind: SupplyKind) -> bool:
    return kind in (SupplyKind.MEDICAL_CARE, SupplyKind.MEDICINE)


def is_controlled(level: RiskLevel) -> bool:
    """Whether a residence at risk ``level`` is under control (may ask for deliveries)."""
    return level in CONTROLLED_LEVELS
