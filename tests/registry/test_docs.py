from __future__ import annotations

from pathlib import Path

from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.spreadsheets import COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_it_documents_every_rejection_reason() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [code for code in RegistryErrorCode if f"`{code}`" not in text] == []


def test_it_documents_every_template_column() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [c.header for c in COLUMNS if f"| {c.header} |" not in text] == []
