"""Every refusal code of the enterprise, logistics and vaccination domains is documented."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from fangkong.enterprise.errors import EnterpriseErrorCode
from fangkong.logistics.errors import LogisticsErrorCode
from fangkong.vaccination.errors import VaccinationErrorCode

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(
    ("page", "code"),
    [("enterprise.md", c) for c in EnterpriseErrorCode]
    + [("logistics.md", c) for c in LogisticsErrorCode]
    + [("vaccination.md", c) for c in VaccinationErrorCode],
)
def test_it_documents_every_refusal_code(page: str, code: StrEnum) -> None:
    assert f"| `{code}` |" in (DOCS / page).read_text()
