"""One settings class for the whole platform (environment prefix ``FANGKONG_``).

The defaults give a zero-config development instance: an SQLite file under ``var/`` and
development keys derived from a fixed secret. In production mode the defaults are refused, so a
deployment cannot go live with keys that are published in this repository.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fangkong.core.crypto import parse_keyring

DEFAULT_SECRET_KEY = "fangkong-development-secret-do-not-use-in-production"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _derived_dev_key(purpose: str) -> str:
    """A development key derived from the published default secret (never valid in production)."""
    digest = hashlib.sha256(f"{DEFAULT_SECRET_KEY}:{purpose}".encode()).digest()
    return "dev:" + base64.urlsafe_b64encode(digest).decode()


DEFAULT_ENCRYPTION_KEYS = _derived_dev_key("field-encryption")
DEFAULT_BLIND_INDEX_KEYS = _derived_dev_key("blind-index")
# The 32 bytes are an Ed25519 seed: the private key that signs health-code tokens.
DEFAULT_CODE_SIGNING_KEY = _derived_dev_key("code-signing")


class Settings(BaseSettings):
    """Every setting is documented in ``docs/configuration.md`` (a test checks that)."""

    # hide_input_in_errors: a refused setting must not echo keys and secrets into logs.
    model_config = SettingsConfigDict(
        env_prefix="FANGKONG_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{REPO_ROOT / 'var' / 'fangkong.db'}"
    )
    secret_key: str = DEFAULT_SECRET_KEY
    # Comma-separated "key_id:base64url(32 bytes)"; the first key encrypts, all of them decrypt.
    encryption_keys: str = DEFAULT_ENCRYPTION_KEYS
    # Same format; the first key computes new blind indexes, all of them are tried on lookup.
    blind_index_keys: str = DEFAULT_BLIND_INDEX_KEYS
    # Same format; the first key signs health-code tokens, every key's public half verifies.
    code_signing_key: str = DEFAULT_CODE_SIGNING_KEY
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    session_hours: float = Field(default=12.0, gt=0)
    secure_cookies: bool = False
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    timezone: str = "Asia/Shanghai"
    # Isolation: local settings (no national text gives these numbers; see docs/isolation.md).
    transfer_positive_hours: float = Field(default=6.0, gt=0)
    transfer_contact_hours: float = Field(default=12.0, gt=0)
    home_fever_celsius: float = Field(default=37.3, ge=35, le=42)
    isolation_reserve_share: float = Field(default=0.2, ge=0, le=1)
    isolation_forecast_days: int = Field(default=7, ge=1, le=30)
    # Sampling scans: many scans per transaction (group commit), or one transaction per scan.
    sampling_group_commit: bool = True
    sampling_batch_window_ms: float = Field(default=2.0, ge=0, le=100)
    # Scan intake: apply received scans in the server's background (else run
    # `fangkong testing apply-scans --follow` as a worker of its own).
    sampling_applier_in_server: bool = True
    # Fast lane: how long a resolved bearer token or session is trusted without asking the
    # database again (the revocation lag).
    actor_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # `fangkong serve`: worker processes (each its own event loop, intake writer and applier)
    # and uvicorn's access log (a line a request costs CPU on hot endpoints; off behind a proxy
    # that logs already).
    server_workers: int = Field(default=1, ge=1, le=64)
    access_log: bool = True
    # Command centre: the hour (local time) the daily figures are cut at; 24 = midnight.
    bulletin_cutoff_hour: int = Field(default=24, ge=1, le=24)

    @model_validator(mode="after")
    def _code_signing_key_parses(self) -> Settings:
        # Checked here rather than in a field validator, whose error would echo the whole value
        # (a private key) into logs.
        try:
            parse_keyring(self.code_signing_key)
        except ValueError:
            raise ValueError(
                "FANGKONG_CODE_SIGNING_KEY must be 'key_id:base64url(32 bytes)[,...]'"
            ) from None
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("FANGKONG_SECRET_KEY must be set to a random value of 32+ characters")
        if self.encryption_keys == DEFAULT_ENCRYPTION_KEYS:
            problems.append("FANGKONG_ENCRYPTION_KEYS must be set")
        if self.blind_index_keys == DEFAULT_BLIND_INDEX_KEYS:
            problems.append("FANGKONG_BLIND_INDEX_KEYS must be set")
        # Refused anywhere in the ring: even as a verify-only key, a published private key lets
        # anyone mint tokens that checkpoints would accept.
        if DEFAULT_CODE_SIGNING_KEY in self.code_signing_key:
            problems.append("FANGKONG_CODE_SIGNING_KEY must be set")
        if not self.secure_cookies:
            problems.append("FANGKONG_SECURE_COOKIES must be true (cookies over HTTPS only)")
        if problems:
            raise ValueError("insecure production settings: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
