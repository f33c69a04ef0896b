"""Facts and packs for the health-code tests: one person per situation, dated around NOW."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache

from fangkong.healthcode import facts as hc_facts
from fangkong.healthcode.enums import (
    CaseStatus,
    ContactKind,
    RiskLevel,
    SampleResult,
    Supervision,
)
from fangkong.healthcode.facts import (
    AreaFacts,
    IsolationFacts,
    PersonFacts,
    RiskVisit,
    Sample,
    SkippedRound,
    TracingFacts,
)
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import Catalog, load_catalog

CST = timezone(timedelta(hours=8))
NOW = datetime(2022, 11, 15, 12, 0, tzinfo=CST)


@cache
def catalog() -> Catalog:
    return load_catalog(schemas=[HEALTHCODE_SECTION])


def section(pack_id: str, version: int | None = None) -> HealthCodeSection:
    return catalog().get(pack_id, version).section(HEALTHCODE_SECTION)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def negative(**delta: float) -> Sample:
    return Sample(ago(**delta), SampleResult.NEGATIVE)


def with_samples(*samples: Sample, **testing: object) -> hc_facts.TestingFacts:
    return hc_facts.TestingFacts(samples=samples, **testing)  # type: ignore[arg-type]


NOBODY = PersonFacts()
CONFIRMED = PersonFacts(tracing=TracingFacts(CaseStatus.CONFIRMED, ago(days=1)))
ASYMPTOMATIC = PersonFacts(tracing=TracingFacts(CaseStatus.ASYMPTOMATIC, ago(days=1)))
RECOVERED = PersonFacts(tracing=TracingFacts(CaseStatus.RECOVERED, ago(days=1)))
POOL = PersonFacts(testing=hc_facts.TestingFacts(is_in_positive_pool_awaiting_review=True))
CLOSE = PersonFacts(tracing=TracingFacts(contact=ContactKind.CLOSE, last_exposure_at=ago(days=2)))
SECONDARY = PersonFacts(tracing=TracingFacts(contact=ContactKind.SECONDARY))
CENTRALISED = PersonFacts(isolation=IsolationFacts(Supervision.CENTRALISED_ISOLATION))
MONITORED = PersonFacts(isolation=IsolationFacts(Supervision.HEALTH_MONITORING))
LIVES_HIGH = PersonFacts(areas=AreaFacts(residence_risk=RiskLevel.HIGH))
LIVES_MEDIUM = PersonFacts(areas=AreaFacts(residence_risk=RiskLevel.MEDIUM))


def visited(level: RiskLevel, days: float, *samples: Sample) -> PersonFacts:
    return PersonFacts(
        areas=AreaFacts(visits=(RiskVisit(level, ago(days=days)),)), testing=with_samples(*samples)
    )


def companion(days: float, *samples: Sample) -> PersonFacts:
    return PersonFacts(
        tracing=TracingFacts(companion_flagged_at=ago(days=days)), testing=with_samples(*samples)
    )


def key_post(*samples: Sample) -> PersonFacts:
    return PersonFacts(testing=with_samples(*samples, is_key_post_worker=True))


def arrived(hours: float, *samples: Sample) -> PersonFacts:
    return PersonFacts(areas=AreaFacts(arrived_at=ago(hours=hours)), testing=with_samples(*samples))


def skipped(
    *closed_days_ago: float,
    samples: tuple[Sample, ...] = (),
    excused: bool = False,
    lives: RiskLevel = RiskLevel.NONE,
) -> PersonFacts:
    rounds = tuple(
        SkippedRound(f"round-{i}", ago(days=d), is_excused=excused)
        for i, d in enumerate(closed_days_ago)
    )
    return PersonFacts(
        testing=hc_facts.TestingFacts(samples=samples, skipped_rounds=rounds),
        areas=AreaFacts(residence_risk=lives),
    )
