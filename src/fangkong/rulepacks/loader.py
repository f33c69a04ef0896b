"""Reading packs from disk: manifest checks, generic section checks and overlay composition.

Generic checks apply to every section file whatever its domain: each rule has a unique ``id``
and cites at least one declared source, and every number is a ``{value, unit}`` pair with a known
unit (a number outside a rule must also cite its own ``source``). Domain-specific checks (which
facts exist, which states a rule may give) belong to the section's ``SectionSchema``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import (
    CONFIDENCE_TAGS,
    IDENTIFIER,
    UNITS,
    Manifest,
    Source,
)

MANIFEST_FILE = "pack.yaml"
MANIFEST_KEYS = frozenset(
    {"id", "version", "title", "series", "effective_from", "effective_until", "base", "sources"}
    | {"notes"}
)
OVERLAY_ONLY_KEY = "remove"


def read_yaml(path: Path, label: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulePackError(
            RulePackErrorCode.FILE_UNREADABLE, f"{label}: {exc}", field=label
        ) from exc
    if not isinstance(data, Mapping):
        raise RulePackError(
            RulePackErrorCode.FILE_UNREADABLE, f"{label}: expected a mapping", field=label
        )
    return data


def _moment(raw: Any, *, label: str, key: str) -> datetime:
    """Effective moments are ISO 8601 strings with an explicit UTC offset (local midnight of the
    issuing authority, e.g. ``2022-06-28T00:00:00+08:00``)."""
    where = f"{label}:{key}"
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID, f"{where}: not an ISO 8601 time", field=where
        ) from exc
    if moment.tzinfo is None:
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID, f"{where}: the time needs a UTC offset", field=where
        )
    return moment


def _source(source_id: str, raw: Any, *, label: str) -> Source:
    where = f"{label}:sources.{source_id}"
    if not isinstance(raw, Mapping) or not raw.get("title"):
        raise RulePackError(
            RulePackErrorCode.SOURCE_INVALID, f"{where}: a source needs a title", field=where
        )
    if not raw.get("url") and not raw.get("document"):
        raise RulePackError(
            RulePackErrorCode.SOURCE_INVALID,
            f"{where}: a source needs a url or a document number",
            field=where,
        )
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCE_TAGS:
        raise RulePackError(
            RulePackErrorCode.SOURCE_INVALID,
            f"{where}: confidence must be one of A, B, C",
            field=where,
        )
    return Source(
        id=source_id,
        title=str(raw["title"]),
        url=str(raw["url"]) if raw.get("url") else None,
        document=str(raw["document"]) if raw.get("document") else None,
        confidence=str(confidence),
    )


def read_manifest(folder: Path) -> Manifest:
    label = f"{folder.name}/{MANIFEST_FILE}"
    raw = read_yaml(folder / MANIFEST_FILE, label)
    unknown = sorted(set(raw) - MANIFEST_KEYS)
    if unknown:
        raise RulePackError(
            RulePackErrorCode.FIELD_UNKNOWN, f"{label}: unknown keys {unknown}", field=label
        )
    for key in ("id", "version", "title", "series", "effective_from", "sources"):
        if key not in raw:
            where = f"{label}:{key}"
            raise RulePackError(RulePackErrorCode.FIELD_MISSING, f"{where}: required", field=where)
    if not isinstance(raw["id"], str) or not IDENTIFIER.match(raw["id"]):
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID, f"{label}:id: not an identifier", field=label
        )
    version = raw["version"]
    # The version is the one number in a pack without a unit: it counts editions of the pack.
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID,
            f"{label}:version: a positive integer",
            field=f"{label}:version",
        )
    sources_raw = raw["sources"]
    if not isinstance(sources_raw, Mapping):
        raise RulePackError(
            RulePackErrorCode.SOURCE_INVALID, f"{label}:sources: expected a mapping", field=label
        )
    effective_from = _moment(raw["effective_from"], label=label, key="effective_from")
    until_raw = raw.get("effective_until")
    until = None if until_raw is None else _moment(until_raw, label=label, key="effective_until")
    if until is not None and until <= effective_from:
        where = f"{label}:effective_until"
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID,
            f"{where}: must be later than effective_from",
            field=where,
        )
    return Manifest(
        id=raw["id"],
        version=version,
        title=str(raw["title"]),
        series=str(raw["series"]),
        effective_from=effective_from,
        effective_until=until,
        base=raw.get("base"),
        sources={str(k): _source(str(k), v, label=label) for k, v in sources_raw.items()},
        notes=str(raw.get("notes", "")),
    )


def check_section(
    raw: Mapping[str, Any],
    *,
    label: str,
    known_sources: Mapping[str, Source],
    is_overlay: bool,
) -> None:
    """The checks every section file passes, whatever its domain."""
    if OVERLAY_ONLY_KEY in raw and not is_overlay:
        where = f"{label}:{OVERLAY_ONLY_KEY}"
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID,
            f"{where}: only an overlay pack may remove rules",
            field=where,
        )
    rules = raw.get("rules", [])
    if not isinstance(rules, list):
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID, f"{label}:rules: expected a list", field=label
        )
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        path = f"{label}:rules[{index}]"
        if not isinstance(rule, Mapping) or not isinstance(rule.get("id"), str):
            raise RulePackError(
                RulePackErrorCode.RULE_ID_MISSING, f"{path}: every rule needs an id", field=path
            )
        rule_id = rule["id"]
        path = f"{label}:rules[{rule_id}]"
        if not IDENTIFIER.match(rule_id):
            raise RulePackError(
                RulePackErrorCode.FIELD_INVALID,
                f"rule {rule_id}: not an identifier",
                field=path,
                rule_id=rule_id,
            )
        if rule_id in seen:
            raise RulePackError(
                RulePackErrorCode.RULE_ID_DUPLICATE,
                f"rule {rule_id}: the id is used twice",
                field=path,
                rule_id=rule_id,
            )
        seen.add(rule_id)
        _check_rule_sources(rule, path=path, rule_id=rule_id, known=known_sources)
        _check_numbers(rule, path=path, rule_id=rule_id, known=known_sources, has_source=True)
    for key, value in raw.items():
        if key != "rules":
            _check_numbers(
                value, path=f"{label}:{key}", rule_id=None, known=known_sources, has_source=False
            )


def _source_ids(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else [raw]


def _check_rule_sources(
    rule: Mapping[str, Any], *, path: str, rule_id: str, known: Mapping[str, Source]
) -> None:
    cited = rule.get("source")
    if not cited:
        raise RulePackError(
            RulePackErrorCode.SOURCE_MISSING,
            f"rule {rule_id}: cites no source",
            field=f"{path}.source",
            rule_id=rule_id,
        )
    for source_id in _source_ids(cited):
        if source_id not in known:
            raise RulePackError(
                RulePackErrorCode.SOURCE_UNKNOWN,
                f"rule {rule_id}: source {source_id!r} is not declared in pack.yaml",
                field=f"{path}.source",
                rule_id=rule_id,
            )


def _check_numbers(
    node: Any, *, path: str, rule_id: str | None, known: Mapping[str, Source], has_source: bool
) -> None:
    """Every number is the ``value`` of a ``{value, unit}`` mapping with a known unit; outside a
    rule the mapping must also cite a declared ``source``."""
    subject = f"rule {rule_id}" if rule_id else path
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return
    if isinstance(node, int | float):
        raise RulePackError(
            RulePackErrorCode.UNIT_MISSING,
            f"{subject}: the number {node} at {path} has no unit",
            field=path,
            rule_id=rule_id,
        )
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_numbers(
                item, path=f"{path}[{index}]", rule_id=rule_id, known=known, has_source=has_source
            )
        return
    if isinstance(node, Mapping):
        if "value" in node:
            _check_quantity(node, path=path, rule_id=rule_id, known=known, has_source=has_source)
            return
        for key, item in node.items():
            _check_numbers(
                item, path=f"{path}.{key}", rule_id=rule_id, known=known, has_source=has_source
            )


def _check_quantity(
    node: Mapping[str, Any],
    *,
    path: str,
    rule_id: str | None,
    known: Mapping[str, Source],
    has_source: bool,
) -> None:
    subject = f"rule {rule_id}" if rule_id else path
    value = node["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulePackError(
            RulePackErrorCode.FIELD_INVALID,
            f"{subject}: {path}.value is not a number",
            field=path,
            rule_id=rule_id,
        )
    if "unit" not in node:
        raise RulePackError(
            RulePackErrorCode.UNIT_MISSING,
            f"{subject}: the number {value} at {path} has no unit",
            field=path,
            rule_id=rule_id,
        )
    if node["unit"] not in UNITS:
        raise RulePackError(
            RulePackErrorCode.UNIT_UNKNOWN,
            f"{subject}: unknown unit {node['unit']!r} at {path}",
            field=path,
            rule_id=rule_id,
        )
    if "source" in node:
        for source_id in _source_ids(node["source"]):
            if source_id not in known:
                raise RulePackError(
                    RulePackErrorCode.SOURCE_UNKNOWN,
                    f"{subject}: source {source_id!r} at {path} is not declared",
                    field=path,
                    rule_id=rule_id,
                )
    elif not has_source:
        raise RulePackError(
            RulePackErrorCode.SOURCE_MISSING,
            f"{subject}: the number {value} at {path} cites no source",
            field=path,
            rule_id=rule_id,
        )


def compose_section(
    base: Mapping[str, Any], overlay: Mapping[str, Any], *, label: str
) -> dict[str, Any]:
    """Overlay a section on its base: settings are replaced key by key, rules are replaced in
    place or appended by id, and ``remove`` drops base rules (each id must exist in the base)."""
    merged: dict[str, Any] = {k: v for k, v in base.items() if k != "rules"}
    merged.update({k: v for k, v in overlay.items() if k not in ("rules", OVERLAY_ONLY_KEY)})
    rules: dict[str, Any] = {rule["id"]: rule for rule in base.get("rules", [])}
    for rule_id in overlay.get(OVERLAY_ONLY_KEY, []):
        if rule_id not in rules:
            where = f"{label}:{OVERLAY_ONLY_KEY}"
            raise RulePackError(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"rule {rule_id}: cannot remove a rule the base pack does not have",
                field=where,
                rule_id=str(rule_id),
            )
        del rules[rule_id]
    for rule in overlay.get("rules", []):
        rules[rule["id"]] = rule  # dict keeps the base position of a replaced rule
    merged["rules"] = list(rules.values())
    return merged
