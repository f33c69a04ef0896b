"""The testing section of the rule pack in force: positive-pool policy, pool sizes by risk
class, round cadence (``DEFAULT_TESTING`` when a pack has none)."""

from __future__ import annotations

from datetime import datetime

from fangkong.rulepacks.catalog import Catalog, load_catalog
from fangkong.rulepacks.errors import RulePackError
from fangkong.testing.section import (
    DEFAULT_TESTING,
    TESTING_SECTION,
    CadencePolicy,
    PoolSizePolicy,
    PositivePoolPolicy,
    TestingPolicy,
)

DEFAULT_SERIES = "cn"

_catalog: Catalog | None = None


def policy_at(*, now: datetime, pack_id: str | None = None) -> PositivePoolPolicy:
    """The positive-pool policy of ``pack_id`` (or of the national pack in force at ``now``);
    :data:`~fangkong.testing.section.DEFAULT_POLICY` when the pack has no testing section."""
    return testing_policy_at(now=now, pack_id=pack_id).positive_pool


def pool_sizes_at(*, now: datetime, pack_id: str | None = None) -> PoolSizePolicy:
    """The pool sizes by risk class of ``pack_id`` (or of the national pack in force at
    ``now``); :data:`~fangkong.testing.section.DEFAULT_POOL_SIZES` without a rule."""
    return testing_policy_at(now=now, pack_id=pack_id).pool_sizes


def cadence_at(*, now: datetime, pack_id: str | None = None) -> CadencePolicy | None:
    """How rounds repeat under ``pack_id`` (or the national pack in force at ``now``); None
    when the pack sets no cadence."""
    return testing_policy_at(now=now, pack_id=pack_id).cadence


def testing_policy_at(*, now: datetime, pack_id: str | None = None) -> TestingPolicy:
    """The testing section of ``pack_id`` (or of the national pack in force at ``now``)."""
    global _catalog
    if _catalog is None:
        _catalog = load_catalog(schemas=[TESTING_SECTION])
    try:
        pack = (
            _catalog.in_force(series=DEFAULT_SERIES, at=now)
            if pack_id is None
            else _catalog.get(pack_id, None)
        )
    except RulePackError:
        return DEFAULT_TESTING
    if not pack.has_section(TESTING_SECTION.name):
        return DEFAULT_TESTING
    return pack.section(TESTING_SECTION)
