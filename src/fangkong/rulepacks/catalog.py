"""The catalog of packs: every version on disk, composed with its bases, queryable by time.

``load_catalog()`` reads every pack folder, checks each section generically, composes overlays
on their bases, and parses every section for which a schema is given, so a broken pack is
refused at start-up rather than at the first decision. ``Catalog.in_force(series, at)`` answers
which pack governed a moment, so a past decision can be re-evaluated under the rules of its day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.loader import (
    MANIFEST_FILE,
    check_section,
    compose_section,
    read_manifest,
    read_yaml,
)
from fangkong.rulepacks.schemas import Manifest, RulePack, SectionSchema, Source

PACKS_DIR = Path(__file__).resolve().parent / "packs"


@dataclass(frozen=True)
class _PackFiles:
    manifest: Manifest
    sections: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Catalog:
    """Every loaded pack version. Pack ids are unique per version; series group generations."""

    packs: Mapping[tuple[str, int], RulePack]

    def get(self, pack_id: str, version: int | None = None) -> RulePack:
        """The given version of a pack, or its highest version when ``version`` is None."""
        versions = sorted(v for (i, v) in self.packs if i == pack_id)
        wanted = version if version is not None else (versions[-1] if versions else None)
        if wanted is None or (pack_id, wanted) not in self.packs:
            label = pack_id if version is None else f"{pack_id}@{version}"
            raise RulePackError(
                RulePackErrorCode.PACK_NOT_FOUND, f"no pack {label}", field="pack_id"
            )
        return self.packs[(pack_id, wanted)]

    def in_force(self, *, series: str | Sequence[str], at: datetime) -> RulePack:
        """The pack in force at ``at``: within a series, the latest effective one whose window
        contains ``at`` (``effective_from <= at < effective_until``), highest version first.

        ``series`` may list preferences, e.g. ``("zhuzhou", "cn")``: the local pack while one is
        in force, else the national one.
        """
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        preferences = [series] if isinstance(series, str) else list(series)
        for name in preferences:
            candidates = [
                pack
                for pack in self.packs.values()
                if pack.manifest.series == name
                and pack.manifest.effective_from <= at
                and (pack.manifest.effective_until is None or at < pack.manifest.effective_until)
            ]
            if candidates:
                return max(
                    candidates, key=lambda p: (p.manifest.effective_from, p.manifest.version)
                )
        raise RulePackError(
            RulePackErrorCode.NO_PACK_IN_FORCE,
            f"no pack of series {', '.join(preferences)} was in force at {at.isoformat()}",
            field="at",
        )

    def series(self) -> list[str]:
        return sorted({pack.manifest.series for pack in self.packs.values()})


def _read_pack_files(folder: Path) -> _PackFiles:
    manifest = read_manifest(folder)
    sections: dict[str, Mapping[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name != MANIFEST_FILE:
            sections[path.stem] = read_yaml(path, f"{folder.name}/{path.name}")
    return _PackFiles(manifest, sections)


def _chain(key: tuple[str, int], files: Mapping[tuple[str, int], _PackFiles]) -> list[_PackFiles]:
    """The pack and its bases, root base first. A base is named by id; its highest version is
    used unless the base is written ``id@version``."""
    chain = [files[key]]
    seen = {key}
    while (base := chain[0].manifest.base) is not None:
        base_id, _, base_version = str(base).partition("@")
        versions = sorted(v for (i, v) in files if i == base_id)
        wanted = int(base_version) if base_version else (versions[-1] if versions else None)
        base_key = (base_id, wanted) if wanted is not None else None
        label = f"{chain[0].manifest.id}/{MANIFEST_FILE}:base"
        if base_key is None or base_key not in files:
            raise RulePackError(
                RulePackErrorCode.BASE_UNKNOWN, f"{label}: no pack {base}", field=label
            )
        if base_key in seen:
            raise RulePackError(
                RulePackErrorCode.BASE_CYCLE, f"{label}: base {base} loops back", field=label
            )
        seen.add(base_key)
        chain.insert(0, files[base_key])
    return chain


def _compose(chain: list[_PackFiles]) -> RulePack:
    top = chain[-1].manifest
    sources: dict[str, Source] = {}
    sections: dict[str, Mapping[str, Any]] = {}
    for depth, files in enumerate(chain):
        sources.update(files.manifest.sources)
        for name, raw in files.sections.items():
            label = f"{files.manifest.id}/{name}.yaml"
            check_section(raw, label=label, known_sources=sources, is_overlay=depth > 0)
            sections[name] = (
                compose_section(sections[name], raw, label=label) if name in sections else raw
            )
    manifest = Manifest(
        id=top.id,
        version=top.version,
        title=top.title,
        series=top.series,
        effective_from=top.effective_from,
        effective_until=top.effective_until,
        base=top.base,
        sources=sources,
        notes=top.notes,
    )
    lineage = tuple(files.manifest.ref for files in chain)
    return RulePack(manifest=manifest, raw_sections=sections, lineage=lineage)


def load_catalog(
    root: Path = PACKS_DIR, *, schemas: Iterable[SectionSchema[Any]] = (), strict: bool = False
) -> Catalog:
    """Load and validate every pack folder under ``root`` (refuses on the first problem).

    ``strict`` also refuses a section file for which no schema is given, so an installation
    never ships a section that no domain validates."""
    files: dict[tuple[str, int], _PackFiles] = {}
    for folder in sorted(p for p in root.iterdir() if (p / MANIFEST_FILE).is_file()):
        pack_files = _read_pack_files(folder)
        key = (pack_files.manifest.id, pack_files.manifest.version)
        if key in files:
            label = f"{folder.name}/{MANIFEST_FILE}"
            raise RulePackError(
                RulePackErrorCode.PACK_DUPLICATE,
                f"{label}: {pack_files.manifest.ref} is defined twice",
                field=label,
            )
        files[key] = pack_files
    schema_list = list(schemas)
    if strict:
        known = {schema.name for schema in schema_list}
        for pack_files in files.values():
            for name in pack_files.sections:
                if name not in known:
                    label = f"{pack_files.manifest.id}/{name}.yaml"
                    raise RulePackError(
                        RulePackErrorCode.SECTION_UNKNOWN,
                        f"{label}: no domain registers a {name!r} section",
                        field=label,
                    )
    packs = {key: _compose(_chain(key, files)) for key in files}
    for pack in packs.values():
        for schema in schema_list:
            if pack.has_section(schema.name):
                pack.section(schema)
    return Catalog(packs=packs)
