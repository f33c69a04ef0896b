"""The daily evaluation job: apply each confirmed designation's own pack to its recorded days.

Idempotent: run twice on the same day, the second run changes nothing (the first already moved
the level and reset ``level_since``). Each change is a conditional UPDATE on the level the job
read, so a concurrent officer's action wins and the job skips that area.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.areas import actions, events, service
from fangkong.areas.enums import DesignationStatus
from fangkong.areas.models import RiskDesignation
from fangkong.areas.rules import evaluate_area
from fangkong.core import clock
from fangkong.core.errors import Conflict


@dataclass
class EvaluationReport:
    evaluated: int = 0
    changed: list[int] = field(default_factory=list)
    lifted: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # changed by someone else meanwhile


def run_daily_evaluation(*, session: Session) -> EvaluationReport:
    """Evaluate every confirmed designation at ``clock.now()``; the caller commits."""
    now = clock.now()
    report = EvaluationReport()
    designations = list(
        session.scalars(
            select(RiskDesignation)
            .where(RiskDesignation.status == str(DesignationStatus.CONFIRMED))
            .order_by(RiskDesignation.id)
        )
    )
    for designation in designations:
        report.evaluated += 1
        section = service.section_for(
            pack_id=designation.pack_id, version=designation.pack_version, now=now
        )
        history = service.history_of(session=session, designation=designation)
        decision = evaluate_area(history=history, now=now, section=section)
        before = designation.snapshot()
        try:
            if not decision.is_changed:
                actions.transition(
                    session,
                    designation,
                    expect={"level": designation.level},
                    explanation=decision.explanation,
                )
                continue
            if decision.requires_confirmation:
                if designation.pending_level == decision.level:
                    continue
                actions.transition(
                    session,
                    designation,
                    expect={"level": designation.level, "pending_level": designation.pending_level},
                    pending_level=str(decision.level),
                    rule_id=decision.rule_id,
                    explanation=decision.explanation,
                )
                report.pending.append(designation.id)
                action = "areas.designation.change_proposed"
            else:
                actions.transition(
                    session,
                    designation,
                    expect={"level": designation.level, "status": DesignationStatus.CONFIRMED},
                    level=str(decision.level),
                    level_since=now.date(),
                    controls=list(decision.controls) or list(designation.controls),
                    rule_id=decision.rule_id,
                    explanation=decision.explanation,
                    status=str(
                        DesignationStatus.LIFTED
                        if decision.is_lifted
                        else DesignationStatus.CONFIRMED
                    ),
                )
                report.changed.append(designation.id)
                if decision.is_lifted:
                    report.lifted.append(designation.id)
                action = "areas.designation.evaluated"
        except Conflict:
            report.skipped.append(designation.id)
            continue
        events.changed(
            session=session,
            actor=None,
            action=action,
            designation=designation,
            before=before,
            reason=decision.explanation,
            rule_ref=decision.rule_ref,
        )
    return report
