"""Stable error codes of the epidemic model (raised as ``FangkongError``)."""

from __future__ import annotations

from enum import StrEnum


class EpidemicErrorCode(StrEnum):
    PRESET_UNKNOWN = "epidemic.preset_unknown"
    POPULATION_EMPTY = "epidemic.population_empty"
    POPULATION_LENGTH_MISMATCH = "epidemic.population_length_mismatch"
    POPULATION_ID_INVALID = "epidemic.population_id_invalid"
    SEED_INFECTIONS_INVALID = "epidemic.seed_infections_invalid"
    INTERVENTION_ID_INVALID = "epidemic.intervention_id_invalid"
