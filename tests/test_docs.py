"""Every setting, role and error code is documented for the people who use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.accounts.enums import Role
from fangkong.accounts.errors import AccountsErrorCode
from fangkong.config import Settings
from fangkong.core.errors import CoreErrorCode

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_it_documents_every_setting(name: str) -> None:
    assert f"`FANGKONG_{name.upper()}`" in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("role", list(Role))
def test_it_documents_every_role(role: Role) -> None:
    assert f"| `{role}` |" in (DOCS / "accounts.md").read_text()


@pytest.mark.parametrize(
    "code",
    [c for c in CoreErrorCode if c.startswith(("auth.", "permission."))] + list(AccountsErrorCode),
)
def test_it_documents_every_refusal_of_the_accounts_domain(code: str) -> None:
    assert f"| `{code}` |" in (DOCS / "accounts.md").read_text()
