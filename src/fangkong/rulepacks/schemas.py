"""The shapes of a loaded pack: quantities with units, sources, manifests and section schemas."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode

# Every number in a pack is a {value, unit} pair with one of these units. Time units convert to
# timedelta; counting units ("test", "round", ...) are plain counts of the thing named.
TIME_UNITS: Mapping[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
COUNT_UNITS = frozenset({"test", "round", "person", "household", "tube", "case", "row"})
OTHER_UNITS = frozenset({"metre", "percent", "ct"})
UNITS = frozenset(TIME_UNITS) | COUNT_UNITS | OTHER_UNITS

IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
CONFIDENCE_TAGS = frozenset({"A", "B", "C"})


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str

    def as_timedelta(self) -> timedelta:
        """The quantity as a duration; only valid for time units (checked by section parsers)."""
        return self.value * TIME_UNITS[self.unit]

    def as_count(self) -> int:
        return int(self.value)


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: a URL, a document number (文号), or both."""

    id: str
    title: str
    url: str | None
    document: str | None
    confidence: str


@dataclass(frozen=True)
class Manifest:
    """The contents of ``pack.yaml``."""

    id: str
    version: int
    title: str
    series: str
    effective_from: datetime
    effective_until: datetime | None
    base: str | None
    sources: Mapping[str, Source]
    notes: str = ""

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True)
class SectionContext:
    """What a section parser needs to refuse precisely: the pack and file it is reading."""

    manifest: Manifest
    file_label: str

    def error(
        self, code: RulePackErrorCode, message: str, *, path: str, rule_id: str | None = None
    ) -> RulePackError:
        where = f"{self.file_label}:{path}"
        subject = f"rule {rule_id}" if rule_id else where
        return RulePackError(code, f"{subject}: {message}", field=where, rule_id=rule_id)

    def quantity(
        self, raw: Any, *, path: str, rule_id: str | None, units: Sequence[str]
    ) -> Quantity:
        """Read a ``{value, unit}`` whose unit must be one of ``units`` (the loader has already
        checked that every number carries a known unit)."""
        if not isinstance(raw, Mapping) or "value" not in raw:
            raise self.error(
                RulePackErrorCode.UNIT_MISSING,
                "expected a {value, unit} quantity",
                path=path,
                rule_id=rule_id,
            )
        unit = raw.get("unit")
        if unit not in units:
            raise self.error(
                RulePackErrorCode.UNIT_UNKNOWN,
                f"unit {unit!r} is not one of {sorted(units)}",
                path=path,
                rule_id=rule_id,
            )
        return Quantity(value=float(raw["value"]), unit=str(unit))


T = TypeVar("T")


@dataclass(frozen=True)
class SectionSchema(Generic[T]):
    """A domain's section of the packs: its file name (``<name>.yaml``) and its parser.

    The parser receives the composed section (base and overlays merged, generic checks passed)
    and returns the domain's typed view of it, refusing with ``RulePackError`` on anything it
    does not understand (unknown fact, bad reference, wrong unit).
    """

    name: str
    parse: Callable[[Mapping[str, Any], SectionContext], T]


@dataclass
class RulePack:
    """A composed pack: its manifest and its raw sections, parsed on demand per schema."""

    manifest: Manifest
    raw_sections: Mapping[str, Mapping[str, Any]]
    lineage: tuple[str, ...]
    _parsed: dict[str, Any] = field(default_factory=dict, repr=False)

    def has_section(self, name: str) -> bool:
        return name in self.raw_sections

    def section(self, schema: SectionSchema[T]) -> T:
        """The typed section; refuses with ``SECTION_UNKNOWN`` if this pack lacks it."""
        if schema.name not in self._parsed:
            raw = self.raw_sections.get(schema.name)
            if raw is None:
                raise RulePackError(
                    RulePackErrorCode.SECTION_UNKNOWN,
                    f"pack {self.manifest.ref} has no {schema.name} section",
                    field=f"{self.manifest.id}/{schema.name}.yaml",
                )
            context = SectionContext(self.manifest, f"{self.manifest.id}/{schema.name}.yaml")
            self._parsed[schema.name] = schema.parse(raw, context)
        parsed: T = self._parsed[schema.name]
        return parsed

    def rule_ids(self, name: str) -> list[str]:
        """Rule ids of a section, in evaluation order (empty when the section is absent)."""
        raw = self.raw_sections.get(name, {})
        return [str(rule["id"]) for rule in raw.get("rules", [])]
