"""Typed views of the health-code section of a pack, and the decision the engine returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from fangkong.healthcode.enums import ExitKind


class Fact(StrEnum):
    """The facts a rule's ``when`` may test (see ``docs/healthcode.md`` for each)."""

    CASE_STATUS = "case_status"
    POSITIVE_POOL = "positive_pool"
    CONTACT = "contact"
    SUPERVISION = "supervision"
    RESIDENCE_RISK = "residence_risk"
    VISITED_RISK = "visited_risk"
    SKIPPED_ROUNDS = "skipped_rounds"
    NEGATIVE_OLDER_THAN = "negative_older_than"
    COMPANION = "companion"
    ARRIVED_UNTESTED = "arrived_untested"
    KEY_POST_WORKER = "key_post_worker"


@dataclass(frozen=True)
class Condition:
    """One test of a fact. ``values`` lists accepted statuses or levels; ``window`` is the
    duration a time-bound fact looks at; ``count`` a minimum number (rounds)."""

    fact: Fact
    values: frozenset[str] = frozenset()
    window: timedelta | None = None
    count: int | None = None


@dataclass(frozen=True)
class ClearByTests:
    """The rule stops applying once ``tests`` qualifying samples were taken after the rule's
    trigger, within ``within`` of it, each at least ``min_gap`` after the previous one."""

    tests: int
    negative_only: bool
    within: timedelta | None
    min_gap: timedelta | None


@dataclass(frozen=True)
class CodeRule:
    id: str
    colour: str
    reason: str
    when: tuple[Condition, ...]
    cleared_by: ClearByTests | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HealthCodeSection:
    """The composed health-code section of one pack version.

    ``states`` runs from the most to the least restrictive; the most restrictive matching rule
    decides. ``clear_state`` is the state meaning "no restriction" (green where codes exist).
    """

    pack_id: str
    pack_version: int
    states: tuple[str, ...]
    clear_state: str
    rules: tuple[CodeRule, ...]


@dataclass(frozen=True)
class GreenCondition:
    """One thing that must happen for a rule to stop applying.

    ``tests`` is how many more qualifying tests are needed (for test conditions); ``by`` is the
    deadline for them, or for ``TIME_ELAPSES`` the moment the rule lapses by itself.
    """

    kind: ExitKind
    rule_id: str
    tests: int | None = None
    by: datetime | None = None


@dataclass(frozen=True)
class CodeDecision:
    """A person's code at ``evaluated_at`` and its explanation.

    ``rule_id`` decided the colour; ``reasons`` are the reason codes of every restricting rule
    that applies (most restrictive first). ``valid_until`` is the earliest moment at which the
    same facts could give another answer (None: only new facts can change it).
    ``to_green`` lists what must happen, all of it, for the code to become the clear state.
    ``trigger_fact`` is the fact of the deciding rule's first condition (None for the default).
    """

    colour: str
    rule_id: str
    pack_id: str
    pack_version: int
    reasons: tuple[str, ...]
    matched_rule_ids: tuple[str, ...]
    evaluated_at: datetime
    valid_until: datetime | None
    to_green: tuple[GreenCondition, ...]
    trigger_fact: str | None

    @property
    def rule_ref(self) -> str:
        """``pack@version#rule``: what audit events record as the rule behind a change."""
        return f"{self.pack_id}@{self.pack_version}#{self.rule_id}"


# API bodies and answers.


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CodeRead(_Read):
    person_id: int
    colour: str
    rule_id: str
    pack_id: str
    pack_version: int
    reasons: list[str]
    decided_at: datetime
    valid_until: datetime | None


class ExplanationRead(BaseModel):
    locale: str
    colour: str
    sentence: str
    reasons: list[str]
    to_green: list[str]
    valid_until: str | None


class TokenRead(BaseModel):
    token: str
    expires_at: datetime


class VerifyIn(BaseModel):
    token: str


class CheckRead(_Read):
    colour: str
    issued_at: datetime
    latest_negative_at: datetime | None
    negative_age_hours: int | None
    doses: int
    last_dose_on: date | None


class OverrideIn(BaseModel):
    person_id: int
    colour: str
    reason: str = ""
    expires_at: datetime | None = None


class NoteIn(BaseModel):
    note: str = ""


class OverrideRead(_Read):
    id: int
    person_id: int
    colour: str
    from_colour: str | None
    reason: str
    expires_at: datetime
    status: str
    requested_by_user_id: int
    requested_at: datetime
    approved_by_user_id: int | None
    approved_at: datetime | None
    decision_note: str | None
    appeal_id: int | None


class AppealIn(BaseModel):
    text: str = ""


class AppealDecisionIn(BaseModel):
    decision: str
    reason: str = ""
    override_colour: str | None = None
    override_expires_at: datetime | None = None


class AppealRead(_Read):
    id: int
    person_id: int
    text: str
    colour: str | None
    rule_id: str | None
    status: str
    submitted_at: datetime
    due_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    is_overdue: bool = False


class AppealOutcomeRead(BaseModel):
    appeal: AppealRead
    override: OverrideRead | None


class UnexplainedRead(_Read):
    person_id: int
    colour: str
    rule_id: str
    pack_ref: str
    decided_at: datetime
    problem: str
