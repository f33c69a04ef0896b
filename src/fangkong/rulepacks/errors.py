"""Refusal codes of the rule-pack loader; every refusal names the pack, the file and the rule."""

from __future__ import annotations

from enum import StrEnum

from fangkong.core.errors import FangkongError


class RulePackErrorCode(StrEnum):
    PACK_NOT_FOUND = "rulepack.pack_not_found"
    PACK_DUPLICATE = "rulepack.pack_duplicate"
    NO_PACK_IN_FORCE = "rulepack.no_pack_in_force"
    FILE_UNREADABLE = "rulepack.file_unreadable"
    FIELD_MISSING = "rulepack.field_missing"
    FIELD_INVALID = "rulepack.field_invalid"
    FIELD_UNKNOWN = "rulepack.field_unknown"
    BASE_UNKNOWN = "rulepack.base_unknown"
    BASE_CYCLE = "rulepack.base_cycle"
    SECTION_UNKNOWN = "rulepack.section_unknown"
    RULE_ID_MISSING = "rulepack.rule_id_missing"
    RULE_ID_DUPLICATE = "rulepack.rule_id_duplicate"
    UNIT_MISSING = "rulepack.unit_missing"
    UNIT_UNKNOWN = "rulepack.unit_unknown"
    SOURCE_MISSING = "rulepack.source_missing"
    SOURCE_UNKNOWN = "rulepack.source_unknown"
    SOURCE_INVALID = "rulepack.source_invalid"
    FACT_UNKNOWN = "rulepack.fact_unknown"
    REFERENCE_UNKNOWN = "rulepack.reference_unknown"


class RulePackError(FangkongError):
    """A pack refused by the loader.

    ``field`` is a path such as ``cn-9/healthcode.yaml:rules[hc.case].when.visited_risk`` so an
    author can find the offending line; ``rule_id`` is the rule concerned, when there is one.
    """

    status = 422

    def __init__(
        self,
        code: RulePackErrorCode,
        message: str,
        *,
        field: str | None = None,
        rule_id: str | None = None,
    ) -> None:
        super().__init__(code, message, field=field)
        self.rule_id = rule_id
