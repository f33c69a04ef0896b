"""The command-centre page documents every error code and the cut-off setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.command.errors import CommandErrorCode

PAGE = Path(__file__).resolve().parents[2] / "docs" / "command-centre.md"


@pytest.mark.parametrize("code", list(CommandErrorCode))
def test_it_documents_every_error_code(code: CommandErrorCode) -> None:
    assert f"| `{code}` |" in PAGE.read_text()


def test_it_documents_the_cut_off_setting() -> None:
    assert "`FANGKONG_BULLETIN_CUTOFF_HOUR`" in PAGE.read_text()
