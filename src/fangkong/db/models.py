"""Imports every domain's tables so that the metadata is complete (migrations, tests)."""

from __future__ import annotations

import importlib

DOMAIN_MODEL_MODULES = (
    "fangkong.core.audit",
    "fangkong.registry.models",
    "fangkong.accounts.models",
    "fangkong.testing.models",
    "fangkong.healthcode.models",
    "fangkong.areas.models",
    "fangkong.isolation.models",
    "fangkong.tracing.models",
    "fangkong.enterprise.models",
    "fangkong.logistics.models",
    "fangkong.vaccination.models",
    "fangkong.command.models",
)


def import_all_models() -> None:
    for module in DOMAIN_MODEL_MODULES:
        importlib.import_module(module)
