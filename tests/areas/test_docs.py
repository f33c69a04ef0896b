"""Every risk-area and isolation rule, fact and refusal code is documented in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fangkong.areas.errors import AreasErrorCode
from fangkong.areas.schemas import Fact
from fangkong.areas.section import AREAS_SECTION
from fangkong.isolation.enums import ReleaseOutcome
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.rulepacks.catalog import load_catalog

DOCS = Path(__file__).resolve().parents[2] / "docs"
CATALOG = load_catalog(schemas=[AREAS_SECTION, ISOLATION_SECTION])
RULES = [
    (doc, pack.manifest.id, rule_id)
    for doc, section in (("areas.md", "areas"), ("isolation.md", "isolation"))
    for pack in CATALOG.packs.values()
    for rule_id in pack.rule_ids(section)
]


def pack_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### `([a-z0-9.\-]+)`.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize(
    ("doc", "pack_id", "rule_id"), RULES, ids=[f"{d}:{p}:{r}" for d, p, r in RULES]
)
def test_it_documents_every_rule_under_its_pack(doc: str, pack_id: str, rule_id: str) -> None:
    sections = pack_sections((DOCS / doc).read_text(encoding="utf-8"))

    assert f"`{rule_id}`" in sections[pack_id]


def test_it_documents_every_pack_in_both_docs() -> None:
    for doc in ("areas.md", "isolation.md"):
        sections = pack_sections((DOCS / doc).read_text(encoding="utf-8"))
        assert sorted(sections) == sorted(pack.manifest.id for pack in CATALOG.packs.values())


def test_it_documents_every_fact_outcome_and_refusal() -> None:
    areas = (DOCS / "areas.md").read_text(encoding="utf-8")
    isolation = (DOCS / "isolation.md").read_text(encoding="utf-8")

    assert [str(i) for i in [*Fact, *AreasErrorCode] if f"`{i}`" not in areas] == []
    assert [
        str(i) for i in [*ReleaseOutcome, *IsolationErrorCode] if f"`{i}`" not in isolation
    ] == []
