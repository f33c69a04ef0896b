from __future__ import annotations

import pytest
from pydantic import ValidationError

from fangkong.config import Settings
from fangkong.core.crypto import generate_key


def test_it_runs_with_zero_configuration_on_sqlite() -> None:
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("var/fangkong.db")
    assert settings.default_locale == "zh_CN"


def test_it_refuses_to_run_in_production_with_the_published_defaults() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(environment="production")
    message = str(caught.value)
    for variable in (
        "FANGKONG_SECRET_KEY",
        "FANGKONG_ENCRYPTION_KEYS",
        "FANGKONG_BLIND_INDEX_KEYS",
        "FANGKONG_SECURE_COOKIES",
        "FANGKONG_CODE_SIGNING_KEY",
    ):
        assert variable in message


def test_it_accepts_production_with_real_secrets() -> None:
    settings = Settings(
        environment="production",
        secret_key="x" * 40,
        encryption_keys=generate_key("k1"),
        blind_index_keys=generate_key("i1"),
        code_signing_key=generate_key("s1"),
        secure_cookies=True,
    )
    assert settings.environment == "production"


def test_it_reads_the_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().database_url == "postgresql+psycopg://u@h/db"
