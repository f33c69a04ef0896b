"""Every health-code rule, refusal code and fact is documented in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fangkong.healthcode.enums import ExitKind
from fangkong.healthcode.errors import HealthCodeErrorCode
from fangkong.healthcode.schemas import Fact
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackErrorCode

DOCS = Path(__file__).resolve().parents[2] / "docs"


def pack_sections(text: str) -> dict[str, str]:
    """The text under each ``### `pack-id` — ...`` heading."""
    parts = re.split(r"^### `([a-z0-9.\-]+)`.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


CATALOG = load_catalog(schemas=[HEALTHCODE_SECTION])
RULES = [
    (pack.manifest.id, rule_id)
    for pack in CATALOG.packs.values()
    for rule_id in pack.rule_ids("healthcode")
]


@pytest.mark.parametrize(("pack_id", "rule_id"), RULES, ids=[f"{p}:{r}" for p, r in RULES])
def test_it_documents_every_rule_under_its_pack(pack_id: str, rule_id: str) -> None:
    sections = pack_sections((DOCS / "healthcode.md").read_text(encoding="utf-8"))

    if pack_id == "zhuzhou-2022-11" and f"`{rule_id}`" not in sections[pack_id]:
        # An overlay documents only what it changes; inherited rules are under its base.
        assert f"`{rule_id}`" in sections["cn-9"]
    else:
        assert f"`{rule_id}`" in sections[pack_id]


def test_it_documents_every_fact_exit_and_token_refusal() -> None:
    text = (DOCS / "healthcode.md").read_text(encoding="utf-8")

    missing = [
        str(item) for item in [*Fact, *ExitKind, *HealthCodeErrorCode] if f"`{item}" not in text
    ]
    assert missing == []


def test_it_documents_every_rule_pack_refusal() -> None:
    text = (DOCS / "rulepacks.md").read_text(encoding="utf-8")

    assert [str(code) for code in RulePackErrorCode if f"`{code}`" not in text] == []


def test_it_documents_the_code_signing_key() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")

    assert "## `FANGKONG_CODE_SIGNING_KEY`" in text
