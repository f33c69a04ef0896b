"""Registry tests create many users (one per role in every authorization matrix); hashing their
passwords with production Argon2 costs (~1 s each on a busy 2-core machine) would dominate the
run. Password hashing is not under test here, so a cheap Argon2id hasher stands in; the stored
hashes still verify through the real code path, because Argon2 hashes carry their parameters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from fangkong.accounts import security


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )
    yield
