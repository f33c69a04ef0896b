"""What the health-code engine knows about a person, grouped by the domain that supplies it.

Each group is filled by one domain's service (testing, tracing, isolation, areas), so a domain
can start feeding its part without the others; the defaults mean "nothing known against the
person". All datetimes are timezone-aware. The engine never reads the database: whoever calls
it gathers these facts first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fangkong.healthcode.enums import (
    CaseStatus,
    ContactKind,
    RiskLevel,
    SampleResult,
    Supervision,
)


@dataclass(frozen=True)
class Sample:
    """One test of the person: when the swab was taken, and its result so far."""

    sampled_at: datetime
    result: SampleResult


@dataclass(frozen=True)
class SkippedRound:
    """A required test round (e.g. a mass-testing round) the person did not attend.

    ``closed_at`` is the end of the round; ``is_excused`` is set when the community accepted a
    cause (tested elsewhere, in isolation with its own schedule, bedridden, out of town...).
    """

    round_id: str
    closed_at: datetime
    is_excused: bool = False


@dataclass(frozen=True)
class TestingFacts:
    samples: tuple[Sample, ...] = ()
    skipped_rounds: tuple[SkippedRound, ...] = ()
    # A member of a pooled tube that tested positive, before the single-tube recheck (待复核).
    is_in_positive_pool_awaiting_review: bool = False
    pool_flagged_at: datetime | None = None
    # A worker on a post that must test periodically (the "key groups" 重点人群).
    is_key_post_worker: bool = False


@dataclass(frozen=True)
class TracingFacts:
    case_status: CaseStatus = CaseStatus.NONE
    case_status_since: datetime | None = None
    contact: ContactKind = ContactKind.NONE
    last_exposure_at: datetime | None = None
    # Flagged as a spatio-temporal companion (时空伴随者) of a case.
    companion_flagged_at: datetime | None = None


@dataclass(frozen=True)
class IsolationFacts:
    supervision: Supervision = Supervision.NONE
    supervision_since: datetime | None = None


@dataclass(frozen=True)
class RiskVisit:
    """Presence in an area of the given risk level; ``left_at`` is when the person left it."""

    level: RiskLevel
    left_at: datetime


@dataclass(frozen=True)
class AreaFacts:
    residence_risk: RiskLevel = RiskLevel.NONE
    residence_risk_since: datetime | None = None
    visits: tuple[RiskVisit, ...] = ()
    # Arrival in the city from elsewhere (落地); tests taken since are in ``TestingFacts``.
    arrived_at: datetime | None = None


@dataclass(frozen=True)
class PersonFacts:
    testing: TestingFacts = TestingFacts()
    tracing: TracingFacts = TracingFacts()
    isolation: IsolationFacts = IsolationFacts()
    areas: AreaFacts = AreaFacts()
