from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.tracing.errors import TracingErrorCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "tracing.md"


@pytest.mark.parametrize("code", list(TracingErrorCode))
def test_it_documents_every_refusal_of_the_tracing_domain(code: TracingErrorCode) -> None:
    assert f"| `{code}` |" in DOC.read_text(encoding="utf-8")
