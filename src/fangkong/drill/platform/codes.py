"""Health codes and the command centre's daily bulletin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.command import service as command_service
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.healthcode import service as healthcode_service
from fangkong.healthcode.enums import CaseStatus as CodeCaseStatus
from fangkong.healthcode.enums import ContactKind, Supervision
from fangkong.healthcode.facts import IsolationFacts, TracingFacts
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.service import FactGroup
from fangkong.isolation.enums import (
    OrderStatus,
    PhaseKind,
)
from fangkong.isolation.models import IsolationOrder


def recompute_codes(
    *,
    session: Session,
    person_ids: Sequence[int],
    pack: HealthCodeSection,
    cases: Mapping[int, datetime],
    contacts: Mapping[int, tuple[ContactKind, datetime]],
    recovered: Mapping[int, datetime] | None = None,
) -> int:
    """Recompute the health codes of ``person_ids`` from case facts (``cases``: person → first
    positive sample; ``recovered``: person → discharge), contact facts (``contacts``: person →
    kind and last exposure, from tracing's contact rows) and isolation orders; returns how many
    codes changed. (Providers of the domains will replace the two below.)"""

    def tracing_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        out: dict[int, FactGroup] = {}
        for person in person_ids:
            if recovered and person in recovered:
                out[person] = TracingFacts(
                    case_status=CodeCaseStatus.RECOVERED, case_status_since=recovered[person]
                )
            elif person in cases:
                out[person] = TracingFacts(
                    case_status=CodeCaseStatus.CONFIRMED, case_status_since=cases[person]
                )
            elif person in contacts:
                kind, last = contacts[person]
                out[person] = TracingFacts(contact=kind, last_exposure_at=last)
        return out

    def isolation_facts(
        *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> dict[int, FactGroup]:
        rows = session.execute(
            select(IsolationOrder.person_id, IsolationOrder.kind, IsolationOrder.phase_started_at)
            .where(
                IsolationOrder.status == OrderStatus.ACTIVE.value,
                IsolationOrder.planned_end_at > now,
                IsolationOrder.person_id.in_(list(person_ids)),
            )
            .order_by(IsolationOrder.id)
        ).all()
        kinds = {
            PhaseKind.CENTRALISED.value: Supervision.CENTRALISED_ISOLATION,
            PhaseKind.HOME_ISOLATION.value: Supervision.HOME_ISOLATION,
            PhaseKind.HOME_MONITORING.value: Supervision.HEALTH_MONITORING,
        }
        return {
            person: IsolationFacts(supervision=kinds[kind], supervision_since=since)
            for person, kind, since in rows
        }

    result = healthcode_service.recompute_for(
        session=session,
        person_ids=person_ids,
        now=clock.now(),
        pack=pack,
        providers=(tracing_facts, isolation_facts),
    )
    return len(result.changed)


def codes_by_colour(*, session: Session) -> dict[str, int]:
    """How many people hold a code of each colour (people without a code are not counted)."""
    rows = session.execute(
        select(HealthCode.colour, func.count())
        .group_by(HealthCode.colour)
        .order_by(HealthCode.colour)
    ).all()
    return {str(colour): int(count) for colour, count in rows}


def publish_bulletin(*, session: Session, officer: Actor, day: date) -> int:
    """What the command centre's daily job does after the day's cut-off, for the officer's city
    only (the drill's city is the only one with data): the figures of ``day`` for the city and
    each district and the archived bulletin. Returns the bulletins written."""
    settings = get_settings()
    return len(
        command_service.generate_bulletins(
            session=session,
            actor=officer,
            day=day,
            now=clock.now(),
            cutoff_hour=settings.bulletin_cutoff_hour,
            timezone=settings.timezone,
        )
    )
