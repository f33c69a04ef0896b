"""Typed views of the ``areas.yaml`` section, the facts the rules read, the decisions they
return, and the shapes of the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from fangkong.areas.enums import Basis, DrawUnit, RiskLevel, Scope, TargetKind


class Fact(StrEnum):
    """What a lifting rule's ``when`` may test (see ``docs/areas.md``)."""

    DAYS_WITHOUT_CASE = "days_without_case"
    MIN_NEGATIVE_ROUNDS = "min_negative_rounds"
    FINAL_ROUND_ALL_NEGATIVE = "final_round_all_negative"
    NO_HIGHER_AREAS_INSIDE = "no_higher_areas_inside"


@dataclass(frozen=True)
class DesignateRule:
    """Where cases live or spent time (``basis``) gives ``level``, drawn by ``unit``."""

    id: str
    level: RiskLevel
    basis: frozenset[Basis]
    unit: DrawUnit
    controls: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class LiftRule:
    """``from_level`` becomes ``to_level`` once every condition holds.

    ``designated`` restricts the rule to areas first designated at that level (cn-9 lowers a
    former high area to low after 3 days, a directly designated medium one after 7).
    ``days_without_case`` counts consecutive recorded days with no new infection after the day
    the area entered its level; ``min_negative_rounds`` and ``final_round_all_negative`` look at
    the last ``days_without_case`` of those days.
    """

    id: str
    from_level: RiskLevel
    to_level: RiskLevel
    scope: frozenset[Scope]
    designated: RiskLevel | None
    days_without_case: int
    min_negative_rounds: int
    final_round_all_negative: bool
    no_higher_areas_inside: bool
    requires_confirmation: bool
    isolated_infections_reset: bool
    controls: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class AreasSection:
    pack_id: str
    pack_version: int
    levels: tuple[RiskLevel, ...]
    lifted_level: RiskLevel  # a place reaching this level is no longer a risk area of its own
    designate: tuple[DesignateRule, ...]
    lift: tuple[LiftRule, ...]

    @property
    def pack_ref(self) -> str:
        return f"{self.pack_id}@{self.pack_version}"


@dataclass(frozen=True)
class DayFacts:
    """One local calendar day in an area.

    ``new_infections`` counts every new infection found in the area that day;
    ``new_infections_isolated`` the part of them found among people already under isolation
    (cn-10 does not restart the clock for those). ``rounds`` and ``negative_rounds`` count the
    test rounds of all residents that day and how many of them were all negative.
    ``open_cases`` is the number of infected people still in the area at the end of the day.
    """

    day: date
    new_infections: int = 0
    new_infections_isolated: int = 0
    rounds: int = 0
    negative_rounds: int = 0
    open_cases: int = 0


@dataclass(frozen=True)
class AreaHistory:
    """An area's current standing and its day-by-day facts (any order; later days win)."""

    level: RiskLevel
    designated_level: RiskLevel  # the level it was first designated at
    level_since: date  # the day it entered ``level``; counting starts the day after
    scope: Scope
    days: tuple[DayFacts, ...]
    higher_areas_inside: int = 0  # open designations above ``level`` inside a district


@dataclass(frozen=True)
class AreaDecision:
    """What the pack says today. ``rule_id`` is the rule that changed the level or, when
    nothing changed, the nearest rule the explanation is about (None: no rule applies)."""

    level: RiskLevel
    is_changed: bool
    is_lifted: bool
    requires_confirmation: bool
    rule_id: str | None
    pack_id: str
    pack_version: int
    controls: tuple[str, ...]
    explanation: str

    @property
    def rule_ref(self) -> str | None:
        return (
            None if self.rule_id is None else f"{self.pack_id}@{self.pack_version}#{self.rule_id}"
        )


@dataclass(frozen=True)
class CasePlace:
    """A place tied to a case: where they live or spent time, as registry references."""

    case_id: int
    basis: Basis
    area_path: str
    compound_id: int | None = None
    building_id: int | None = None
    unit: int | None = None


@dataclass(frozen=True)
class DesignationProposal:
    target_kind: TargetKind
    target_id: int
    unit: int | None
    area_path: str
    level: RiskLevel
    controls: tuple[str, ...]
    rule_id: str
    case_ids: tuple[int, ...]


# --- JSON API -------------------------------------------------------------------------------


class DesignationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind
    target_id: int = Field(description="area id, compound id or building id")
    unit: int | None = Field(default=None, ge=1, description="unit (单元) of a building")
    level: RiskLevel
    controls: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=1, max_length=500)


class DayFactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    new_infections: int = Field(ge=0)
    new_infections_isolated: int = Field(default=0, ge=0)
    rounds: int = Field(default=0, ge=0)
    negative_rounds: int = Field(default=0, ge=0)
    open_cases: int = Field(default=0, ge=0)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class DesignationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    target_kind: str
    name: str
    area_path: str
    level: str
    designated_level: str
    pending_level: str | None
    controls: list[str]
    status: str
    since: datetime
    level_since: date
    pack_id: str
    pack_version: int
    rule_id: str | None
    explanation: str | None


class PublicRiskArea(BaseModel):
    """What anyone may see without logging in: names and levels only."""

    name: str
    level: str


class AreaStatus(BaseModel):
    """The risk level at a place: the highest confirmed designation covering it."""

    level: RiskLevel
    designation_id: int | None
