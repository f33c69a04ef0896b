"""A minimal valid pack to mutate in loader tests, and helpers to write packs to disk."""

from __future__ import annotations

import copy
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import Catalog, load_catalog

CST = timezone(timedelta(hours=8))

MANIFEST: dict[str, Any] = {
    "id": "base",
    "version": 1,
    "title": "test base",
    "series": "test",
    "effective_from": "2022-06-28T00:00:00+08:00",
    "sources": {"doc": {"title": "a notice", "document": "测〔2022〕1号", "confidence": "A"}},
}
SECTION: dict[str, Any] = {
    "states": ["red", "yellow", "green"],
    "clear_state": "green",
    "rules": [
        {
            "id": "hc.companion",
            "colour": "yellow",
            "reason": "companion",
            "when": {"companion": {"within": {"value": 14, "unit": "day"}}},
            "source": "doc",
        },
        {"id": "hc.no_risk", "colour": "green", "reason": "none", "when": {}, "source": "doc"},
    ],
}


def write_pack(root: Path, folder: str, manifest: dict[str, Any], **sections: Any) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    for name, body in sections.items():
        text = body if isinstance(body, str) else yaml.safe_dump(body, allow_unicode=True)
        (root / folder / f"{name}.yaml").write_text(text)


def load(root: Path) -> Catalog:
    return load_catalog(root, schemas=[HEALTHCODE_SECTION])


def with_rule(**changes: Any) -> dict[str, Any]:
    section = copy.deepcopy(SECTION)
    section["rules"][0].update(changes)
    return section


def without_rule_key(key: str) -> dict[str, Any]:
    section = copy.deepcopy(SECTION)
    del section["rules"][0][key]
    return section
