"""The rule packs of this installation: every domain's section schema, and the catalog.

A domain that adds a section file (``testing.yaml``, ``isolation.yaml``, ...) adds its
``SectionSchema`` to ``SECTION_SCHEMAS``; the catalog is loaded strictly, so a section no domain
validates is refused at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fangkong.areas.certification_rules import CERTIFICATION_SECTION
from fangkong.areas.section import AREAS_SECTION
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.rulepacks.catalog import PACKS_DIR, Catalog, load_catalog
from fangkong.rulepacks.schemas import SectionSchema
from fangkong.testing.section import TESTING_SECTION
from fangkong.tracing.section import TRACING_SECTION

SECTION_SCHEMAS: tuple[SectionSchema[Any], ...] = (
    HEALTHCODE_SECTION,
    AREAS_SECTION,
    CERTIFICATION_SECTION,
    ISOLATION_SECTION,
    TRACING_SECTION,
    TESTING_SECTION,
)


@lru_cache
def catalog() -> Catalog:
    """The shipped packs, validated against every registered section schema (loaded once)."""
    return load_catalog(PACKS_DIR, schemas=SECTION_SCHEMAS, strict=True)
