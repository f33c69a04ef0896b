"""Stored health codes: recompute a batch of people and write only what changed.

Facts come from providers, one per domain that knows something about people (testing, tracing,
isolation, areas); each returns its own group of facts per person and the groups are combined
into ``PersonFacts``. Until a domain registers its provider, its group keeps the defaults
("nothing known against the person").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.db.ids import among
from fangkong.healthcode import providers, subset
from fangkong.healthcode.enums import OverrideStatus
from fangkong.healthcode.facts import (
    AreaFacts,
    IsolationFacts,
    PersonFacts,
    TestingFacts,
    TracingFacts,
)
from fangkong.healthcode.models import CodeOverride, HealthCode
from fangkong.healthcode.rules import apply_override, evaluate, override_id_of
from fangkong.healthcode.schemas import CodeDecision, CodeRead, HealthCodeSection
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.healthcode.store import Stored as Stored  # re-exported: ``full`` writes with it
from fangkong.healthcode.store import store_chunk as store_chunk
from fangkong.healthcode.store import stored_rows
from fangkong.packs import catalog as packs_catalog
from fangkong.registry.models import Person

FactGroup = TestingFacts | TracingFacts | IsolationFacts | AreaFacts
GROUP_FIELD: Mapping[type[Any], str] = {
    TestingFacts: "testing",
    TracingFacts: "tracing",
    IsolationFacts: "isolation",
    AreaFacts: "areas",
}
# People per batch: their ids are bound as one parameter (``db.ids.among``), so the bound is
# memory and the length of one transaction's work, not SQLite's parameter limit.
CHUNK = 2000
# The column path's statements cost the same for any batch, so it takes bigger ones.
COLUMN_CHUNK = 10_000
# The batch size from which the column path is faster (measured: 4.5 ms against 6.9 ms for one
# person, 12 ms against 10 ms for 200, on the events benchmark's data).
COLUMNS_FROM = 128


class FactsProvider(Protocol):
    def __call__(
        self, *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]: ...


# One function per domain that knows something about people (providers.py); tracing's joins
# when its cases land.
DEFAULT_PROVIDERS: tuple[FactsProvider, ...] = (
    providers.testing_facts,
    providers.isolation_facts,
    providers.area_facts,
    providers.tracing_facts,
)
# The local pack while one is in force, else the national one.
DEFAULT_SERIES: tuple[str, ...] = ("zhuzhou", "cn")


@dataclass(frozen=True)
class RecomputeResult:
    """``changed``: colour or deciding rule changed (a change row and an audit event each);
    ``refreshed``: same colour and rule, but the stored pack version, reasons or validity moved
    on (the row is updated, no event);
    ``conflicted``: someone else wrote the row meanwhile, so recompute those again."""

    changed: tuple[int, ...]
    refreshed: tuple[int, ...]
    unchanged: int
    conflicted: tuple[int, ...]


def get(*, session: Session, person_id: int) -> HealthCode | None:
    return session.get(HealthCode, person_id)


def gather_facts(
    *,
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    providers: Sequence[FactsProvider],
) -> dict[int, PersonFacts]:
    facts = {person_id: PersonFacts() for person_id in person_ids}
    for provider in providers:
        for person_id, group in provider(session=session, person_ids=person_ids, now=now).items():
            if person_id in facts:
                changes: dict[str, Any] = {GROUP_FIELD[type(group)]: group}
                facts[person_id] = dataclasses.replace(facts[person_id], **changes)
    return facts


def decide_all(
    *, facts: Mapping[int, PersonFacts], now: datetime, pack: HealthCodeSection
) -> dict[int, CodeDecision]:
    """``evaluate`` for many people, once per distinct set of facts: the engine is pure, and
    most people of a batch share theirs (nothing known against them, or the same round)."""
    seen: dict[PersonFacts, CodeDecision] = {}
    decisions: dict[int, CodeDecision] = {}
    for person_id, mine in facts.items():
        decision = seen.get(mine)
        if decision is None:
            decision = seen[mine] = evaluate(facts=mine, now=now, pack=pack)
        decisions[person_id] = decision
    return decisions


def recompute_for(
    *,
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    pack: HealthCodeSection,
    providers: Sequence[FactsProvider] = DEFAULT_PROVIDERS,
) -> RecomputeResult:
    """Evaluate every person in ``person_ids`` with the per-person engine over the facts of
    ``providers`` and store the codes that differ from the stored ones. Writes go in the
    caller's transaction (the caller commits)."""

    def decide_chunk(chunk: Sequence[int]) -> dict[int, CodeDecision]:
        facts = gather_facts(session=session, person_ids=chunk, now=now, providers=providers)
        return decide_all(facts=facts, now=now, pack=pack)

    return _recompute(session, person_ids, now, pack, decide_chunk, CHUNK)


def recompute_columns(
    *, session: Session, person_ids: Sequence[int], now: datetime, pack: HealthCodeSection
) -> RecomputeResult:
    """``recompute_for`` with the platform's own facts read and decided as columns
    (``subset``): the same decisions, read in a few set-based statements and evaluated at
    once, for the thousands of people one event can touch. Unregistered ids are skipped."""

    def decide_chunk(chunk: Sequence[int]) -> dict[int, CodeDecision]:
        return subset.decide(session=session, person_ids=chunk, now=now, pack=pack)

    return _recompute(session, person_ids, now, pack, decide_chunk, COLUMN_CHUNK)


def _recompute(
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    pack: HealthCodeSection,
    decide_chunk: Callable[[Sequence[int]], dict[int, CodeDecision]],
    size: int,
) -> RecomputeResult:
    """Set-based per chunk: one insert of first codes, one conditional update per kind of
    write (new code, refreshed explanation) run as one executemany, one insert of change rows
    and one chained insert of audit events."""
    outcomes: dict[Stored, list[int]] = {kind: [] for kind in Stored}
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), size):
        # Stored rows are read before the facts: a write that lands while facts are gathered
        # moves the revision, and the conditional update then refuses to overwrite it.
        stored = stored_rows(session, ids[start : start + size])
        decisions = decide_chunk(ids[start : start + size])
        chunk = [pid for pid in ids[start : start + size] if pid in decisions]
        for override in active_overrides(session=session, person_ids=chunk, now=now):
            decisions[override.person_id] = apply_override(
                decisions[override.person_id],
                override_id=override.id,
                colour=override.colour,
                expires_at=override.expires_at,
                clear_state=pack.clear_state,
            )
        with session.no_autoflush:
            store_chunk(session, chunk, stored, decisions, outcomes)
    return RecomputeResult(
        changed=tuple(sorted(outcomes[Stored.CHANGED])),
        refreshed=tuple(sorted(outcomes[Stored.REFRESHED])),
        unchanged=len(outcomes[Stored.UNCHANGED]),
        conflicted=tuple(sorted(outcomes[Stored.CONFLICTED])),
    )


def active_overrides(
    *, session: Session, person_ids: Sequence[int], now: datetime
) -> list[CodeOverride]:
    """The override that applies to each person at ``now`` (the latest approved one when
    several are active)."""
    stmt = (
        select(CodeOverride)
        .where(
            among(CodeOverride.person_id, person_ids, session.get_bind().dialect),
            CodeOverride.status == str(OverrideStatus.ACTIVE),
            CodeOverride.expires_at > now,
        )
        .order_by(CodeOverride.person_id, CodeOverride.id)
    )
    latest: dict[int, CodeOverride] = {}
    for override in session.scalars(stmt):
        latest[override.person_id] = override
    return list(latest.values())


def pack_in_force(*, now: datetime) -> HealthCodeSection:
    """The health-code section of the pack in force at ``now``."""
    return packs_catalog().in_force(series=DEFAULT_SERIES, at=now).section(HEALTHCODE_SECTION)


def recompute_affected(
    *,
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    pack: HealthCodeSection | None = None,
) -> RecomputeResult:
    """Recompute the codes of the people a fact change touched (a result, an order, a
    designation, an override). Other domains and jobs call this after they change facts;
    rows written meanwhile by someone else are recomputed once more. The caller commits.

    A batch of ``COLUMNS_FROM`` people or more is read and decided as columns; a smaller one
    person by person (the columns' fixed cost, a few milliseconds, is more than a few people's
    facts cost). Both decide the same (tests/healthcode/test_subset.py)."""
    section = pack or pack_in_force(now=now)
    result = _recompute_affected(session, person_ids, now, section)
    if not result.conflicted:
        return result
    again = _recompute_affected(session, result.conflicted, now, section)
    return RecomputeResult(
        changed=tuple(sorted({*result.changed, *again.changed})),
        refreshed=tuple(sorted({*result.refreshed, *again.refreshed})),
        unchanged=result.unchanged + again.unchanged,
        conflicted=again.conflicted,
    )


def _recompute_affected(
    session: Session, person_ids: Sequence[int], now: datetime, pack: HealthCodeSection
) -> RecomputeResult:
    if len(set(person_ids)) >= COLUMNS_FROM:
        return recompute_columns(session=session, person_ids=person_ids, now=now, pack=pack)
    return recompute_for(session=session, person_ids=person_ids, now=now, pack=pack)


class Unexplained(StrEnum):
    """Why a stored code is not explained by a rule decision or an override in force."""

    PACK_UNKNOWN = "pack_unknown"  # its pack version is not in the catalog
    RULE_UNKNOWN = "rule_unknown"  # its pack has no such rule
    COLOUR_NOT_RULES = "colour_not_rules"  # the rule gives another colour
    OVERRIDE_NOT_IN_FORCE = "override_not_in_force"  # missing, not approved, ended or expired


@dataclass(frozen=True)
class UnexplainedCode:
    person_id: int
    colour: str
    rule_id: str
    pack_ref: str
    decided_at: datetime
    problem: Unexplained


def unexplained_codes(
    *, session: Session, actor: Actor, now: datetime, limit: int = 500
) -> list[UnexplainedCode]:
    """Every current code in the actor's jurisdiction whose colour no rule of its pack and no
    active approved override accounts for: the guard against codes set by other means."""
    actor.require(Permission.HEALTHCODE_VIEW)
    stmt = scope_to_jurisdiction(
        select(
            HealthCode.person_id,
            HealthCode.colour,
            HealthCode.rule_id,
            HealthCode.pack_id,
            HealthCode.pack_version,
            HealthCode.decided_at,
        )
        .join(Person, Person.id == HealthCode.person_id)
        .order_by(HealthCode.person_id),
        actor=actor,
        path_column=Person.area_path,
    )
    found: list[UnexplainedCode] = []
    rule_colours: dict[tuple[str, int], dict[str, str] | None] = {}
    for rows in session.execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        override_ids = {oid for row in rows if (oid := override_id_of(row.rule_id)) is not None}
        in_force = _overrides_in_force(session, override_ids, now)
        for row in rows:
            problem = _problem(row, in_force, rule_colours)
            if problem is not None:
                found.append(
                    UnexplainedCode(
                        person_id=row.person_id,
                        colour=row.colour,
                        rule_id=row.rule_id,
                        pack_ref=f"{row.pack_id}@{row.pack_version}",
                        decided_at=row.decided_at,
                        problem=problem,
                    )
                )
                if len(found) >= limit:
                    return found
    return found


def _overrides_in_force(
    session: Session, override_ids: set[int], now: datetime
) -> dict[int, tuple[int, str]]:
    if not override_ids:
        return {}
    stmt = select(CodeOverride.id, CodeOverride.person_id, CodeOverride.colour).where(
        CodeOverride.id.in_(override_ids),
        CodeOverride.status == str(OverrideStatus.ACTIVE),
        CodeOverride.expires_at > now,
    )
    return {oid: (pid, colour) for oid, pid, colour in session.execute(stmt)}


def _problem(
    row: Row[Any],
    in_force: Mapping[int, tuple[int, str]],
    rule_colours: dict[tuple[str, int], dict[str, str] | None],
) -> Unexplained | None:
    override_id = override_id_of(row.rule_id)
    if override_id is not None:
        if in_force.get(override_id) != (row.person_id, row.colour):
            return Unexplained.OVERRIDE_NOT_IN_FORCE
        return None
    key = (row.pack_id, row.pack_version)
    if key not in rule_colours:
        try:
            section = packs_catalog().get(*key).section(HEALTHCODE_SECTION)
            rule_colours[key] = {rule.id: rule.colour for rule in section.rules}
        except FangkongError:
            rule_colours[key] = None
    colours = rule_colours[key]
    if colours is None:
        return Unexplained.PACK_UNKNOWN
    if row.rule_id not in colours:
        return Unexplained.RULE_UNKNOWN
    if colours[row.rule_id] != row.colour:
        return Unexplained.COLOUR_NOT_RULES
    return None


def due_for_recompute(*, session: Session, now: datetime, limit: int) -> list[int]:
    """People whose stored code may have changed by itself (a window lapsed, an override
    expired) by ``now``."""
    stmt = (
        select(HealthCode.person_id)
        .where(HealthCode.valid_until <= now)
        .order_by(HealthCode.valid_until)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def decide(
    *, session: Session, person_id: int, now: datetime, pack: HealthCodeSection | None = None
) -> tuple[CodeDecision, PersonFacts]:
    """The decision the engine makes for one person now (an override in force included), with
    the facts behind it: what the explanation is told from."""
    section = pack or pack_in_force(now=now)
    facts = gather_facts(
        session=session, person_ids=[person_id], now=now, providers=DEFAULT_PROVIDERS
    )[person_id]
    decision = evaluate(facts=facts, now=now, pack=section)
    for override in active_overrides(session=session, person_ids=[person_id], now=now):
        decision = apply_override(
            decision,
            override_id=override.id,
            colour=override.colour,
            expires_at=override.expires_at,
            clear_state=section.clear_state,
        )
    return decision, facts


def stored_code(*, session: Session, person_id: int) -> CodeRead | None:
    """The stored code for display, read as one primary-key row without the ORM identity map
    (the hot path of the code page: read-only, no transaction work)."""
    row = session.execute(
        select(*(HealthCode.__table__.c[name] for name in CodeRead.model_fields)).where(
            HealthCode.person_id == person_id
        )
    ).one_or_none()
    return None if row is None else CodeRead.model_validate(row._mapping)


def current_code(*, session: Session, person_id: int, now: datetime) -> HealthCode:
    """The stored code, computed first if the person has none yet (the caller commits)."""
    code = session.get(HealthCode, person_id)
    if code is None:
        recompute_affected(session=session, person_ids=[person_id], now=now)
        code = session.get(HealthCode, person_id)
    assert code is not None
    return code
