"""Parsing and validating the ``tracing.yaml`` section of a rule pack (pure).

Four rules, each with an id and its sources, so every deadline and every contact decision can
cite the rule that made it::

    rules:
      - id: tr.investigation          # open an investigation for every new case, due within
        kind: investigation
        due_within: {value: 24, unit: hour}
        source: fangkong-investigation-deadline
      - id: tr.lookback               # the trajectory starts this long before onset or sampling
        kind: lookback
        before: {value: 2, unit: day}
        serial_testing: last_negative # optional: serially tested people from their last negative
        source: nhc-9th-close-contacts
      - id: tr.close_contact
        kind: close_contact
        criteria: [household, workplace, venue]
        dwell: {value: 30, unit: minute}       # presumed stay after a scan
        min_overlap: {value: 0, unit: minute}  # venue time together needed (us-cdc: 15)
        handover_within: {value: 12, unit: hour}
        source: nhc-9th-close-contacts
      - id: tr.secondary_contact      # absent when the pack no longer determines them
        kind: secondary_contact
        criteria: [via_contact]
        handover_within: {value: 24, unit: hour}
        source: nhc-9th-secondary-contacts
      - id: tr.transport              # needed when close_contact lists ``transport``
        kind: transport
        flight_rows: {value: 3, unit: row}       # the case's row and 3 rows either side
        train_rows: {value: 2, unit: row}        # optional: absent = the whole carriage
        same_trip_within: {value: 60, unit: minute}  # bus and taxi: boarded this close in time
        source: nhc-9th-close-contacts
      - id: tr.companion              # optional, local: spatio-temporal companions (时空伴随者)
        kind: companion
        grid: {value: 800, unit: metre}        # square cells of this side
        min_overlap: {value: 10, unit: minute} # time in the same cell as the case
        source: chengdu-companion-2021
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext, SectionSchema
from fangkong.tracing.enums import ContactBasis

SECTION_NAME = "tracing"
SECTION_KEYS = frozenset({"rules", "note"})
RULE_KEYS: Mapping[str, frozenset[str]] = {
    "investigation": frozenset({"due_within"}),
    "lookback": frozenset({"before", "serial_testing"}),
    "close_contact": frozenset({"criteria", "dwell", "min_overlap", "handover_within"}),
    "secondary_contact": frozenset({"criteria", "handover_within"}),
    "companion": frozenset({"grid", "min_overlap"}),
    "transport": frozenset({"flight_rows", "train_rows", "same_trip_within"}),
}
COMMON_KEYS = frozenset({"id", "kind", "source", "note"})
CLOSE_CRITERIA = frozenset(
    {
        ContactBasis.HOUSEHOLD,
        ContactBasis.BUILDING_UNIT,
        ContactBasis.BUILDING_FLOOR,
        ContactBasis.WORKPLACE,
        ContactBasis.VENUE,
        ContactBasis.TRANSPORT,
    }
)
SECONDARY_CRITERIA = frozenset({ContactBasis.VIA_CONTACT, ContactBasis.BUILDING_FLOOR})


@dataclass(frozen=True)
class ContactRule:
    id: str
    criteria: frozenset[ContactBasis]
    handover_within: timedelta
    dwell: timedelta = timedelta(minutes=30)
    min_overlap: timedelta = timedelta(0)


@dataclass(frozen=True)
class CompanionRule:
    """Spatio-temporal companions: people in the same grid cell as a case's trajectory venue
    for at least ``min_overlap`` (a local rule; see docs/tracing.md)."""

    id: str
    grid_m: float
    min_overlap: timedelta


@dataclass(frozen=True)
class TransportRule:
    """Who on a case's journey is a close contact: on a flight, passengers seated within
    ``flight_rows`` rows of the case; on a train, the case's carriage (only ``train_rows`` rows
    either side when set); on a bus or in a taxi, everyone aboard with the case, judged by
    boarding within ``same_trip_within`` of the case when both times are known. Crew (drivers,
    cabin and train crew) always count."""

    id: str
    flight_rows: int
    train_rows: int | None
    same_trip_within: timedelta


@dataclass(frozen=True)
class TracingSection:
    pack_id: str
    pack_version: int
    investigation_rule_id: str
    investigation_due_within: timedelta
    lookback_rule_id: str
    lookback: timedelta
    # People found by serial screening: the window starts at their last negative sample.
    serial_from_last_negative: bool
    close: ContactRule
    secondary: ContactRule | None  # None: the pack no longer determines secondary contacts
    companion: CompanionRule | None = None  # None: the pack flags no spatio-temporal companions
    transport: TransportRule | None = None  # None: the pack finds no contacts on journeys

    @property
    def pack_ref(self) -> str:
        return f"{self.pack_id}@{self.pack_version}"

    def rule_ref(self, rule_id: str) -> str:
        return f"{self.pack_ref}#{rule_id}"


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> TracingSection:
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    by_kind: dict[str, Mapping[str, Any]] = {}
    for rule in raw.get("rules", []):
        rule_id = str(rule["id"])
        path = f"rules[{rule_id}]"
        kind = rule.get("kind")
        if kind not in RULE_KEYS:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"kind {kind!r} is not one of {sorted(RULE_KEYS)}",
                path=f"{path}.kind",
                rule_id=rule_id,
            )
        extra = sorted(set(rule) - COMMON_KEYS - RULE_KEYS[kind])
        if extra:
            raise context.error(
                RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {extra}", path=path, rule_id=rule_id
            )
        if kind in by_kind:
            raise context.error(
                RulePackErrorCode.FIELD_INVALID, f"a second {kind} rule", path=path, rule_id=rule_id
            )
        by_kind[kind] = rule
    for required in ("investigation", "lookback", "close_contact"):
        if required not in by_kind:
            raise context.error(
                RulePackErrorCode.FIELD_MISSING, f"the pack needs a {required} rule", path="rules"
            )
    investigation = by_kind["investigation"]
    lookback = by_kind["lookback"]
    secondary = by_kind.get("secondary_contact")
    close = _contact_rule(by_kind["close_contact"], CLOSE_CRITERIA, context)
    if ContactBasis.TRANSPORT in close.criteria and "transport" not in by_kind:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "close_contact lists transport: the pack needs a transport rule",
            path="rules",
        )
    return TracingSection(
        pack_id=context.manifest.id,
        pack_version=context.manifest.version,
        investigation_rule_id=str(investigation["id"]),
        investigation_due_within=_duration(investigation, "due_within", context),
        lookback_rule_id=str(lookback["id"]),
        lookback=_duration(lookback, "before", context),
        serial_from_last_negative=_serial(lookback, context),
        close=close,
        secondary=None
        if secondary is None
        else _contact_rule(secondary, SECONDARY_CRITERIA, context),
        companion=_companion_rule(by_kind["companion"], context)
        if "companion" in by_kind
        else None,
        transport=_transport_rule(by_kind["transport"], context)
        if "transport" in by_kind
        else None,
    )


def _rows(rule: Mapping[str, Any], key: str, context: SectionContext) -> int:
    rule_id = str(rule["id"])
    path = f"rules[{rule_id}].{key}"
    value = context.quantity(rule.get(key), path=path, rule_id=rule_id, units=("row",)).value
    if value < 0 or value != int(value):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"{key}: a whole number of rows",
            path=path,
            rule_id=rule_id,
        )
    return int(value)


def _transport_rule(rule: Mapping[str, Any], context: SectionContext) -> TransportRule:
    return TransportRule(
        id=str(rule["id"]),
        flight_rows=_rows(rule, "flight_rows", context),
        train_rows=_rows(rule, "train_rows", context) if "train_rows" in rule else None,
        same_trip_within=_duration(
            rule, "same_trip_within", context, default=timedelta(minutes=60)
        ),
    )


def _companion_rule(rule: Mapping[str, Any], context: SectionContext) -> CompanionRule:
    rule_id = str(rule["id"])
    grid = context.quantity(
        rule.get("grid"), path=f"rules[{rule_id}].grid", rule_id=rule_id, units=("metre",)
    )
    if grid.value <= 0:
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            "grid: a cell side above 0 metres",
            path=f"rules[{rule_id}].grid",
            rule_id=rule_id,
        )
    return CompanionRule(
        id=rule_id,
        grid_m=grid.value,
        min_overlap=_duration(rule, "min_overlap", context, default=timedelta(minutes=10)),
    )


def _duration(
    rule: Mapping[str, Any], key: str, context: SectionContext, *, default: timedelta | None = None
) -> timedelta:
    rule_id = str(rule["id"])
    if key not in rule and default is not None:
        return default
    return context.quantity(
        rule.get(key),
        path=f"rules[{rule_id}].{key}",
        rule_id=rule_id,
        units=("minute", "hour", "day"),
    ).as_timedelta()


def _serial(rule: Mapping[str, Any], context: SectionContext) -> bool:
    value = rule.get("serial_testing")
    if value not in (None, "last_negative"):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"serial_testing {value!r}: only last_negative is known",
            path=f"rules[{rule['id']}].serial_testing",
            rule_id=str(rule["id"]),
        )
    return value == "last_negative"


def _contact_rule(
    rule: Mapping[str, Any], allowed: frozenset[ContactBasis], context: SectionContext
) -> ContactRule:
    rule_id = str(rule["id"])
    raw_criteria = rule.get("criteria")
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "criteria: at least one",
            path=f"rules[{rule_id}].criteria",
            rule_id=rule_id,
        )
    criteria = set()
    for item in raw_criteria:
        if item not in {str(basis) for basis in allowed}:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"{item!r} is not one of {sorted(str(basis) for basis in allowed)}",
                path=f"rules[{rule_id}].criteria",
                rule_id=rule_id,
            )
        criteria.add(ContactBasis(item))
    return ContactRule(
        id=rule_id,
        criteria=frozenset(criteria),
        handover_within=_duration(rule, "handover_within", context),
        dwell=_duration(rule, "dwell", context, default=timedelta(minutes=30)),
        min_overlap=_duration(rule, "min_overlap", context, default=timedelta(0)),
    )


TRACING_SECTION: SectionSchema[TracingSection] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
