"""Vaccination coverage as array arithmetic: one pass of ``bincount`` over every resident.

Input is one row per resident (age, area index, level); output is, for every (age group, area),
the population and how many have reached each level. Pure and vectorised so that a city of
millions is counted in a fraction of a second (``bench/bench_enterprise.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.vaccination.enums import AgeGroup
from fangkong.vaccination.rules import AGE_GROUP_FLOORS

# Age-group index per whole year of age 0..150 (-1: not eligible), ordered as AgeGroup.
GROUPS = list(AgeGroup)
_AGE_TO_GROUP = np.full(151, -1, dtype=np.int16)
for _floor, _group in sorted(AGE_GROUP_FLOORS):
    _AGE_TO_GROUP[_floor:] = GROUPS.index(_group)


@dataclass(frozen=True)
class CoverageCounts:
    """``population[g, a]`` and ``reached[g, a, k]`` (k = 0 first dose, 1 full, 2 booster)."""

    population: npt.NDArray[np.int64]
    reached: npt.NDArray[np.int64]


def count(
    *,
    ages: npt.NDArray[np.integer],
    areas: npt.NDArray[np.integer],
    levels: npt.NDArray[np.integer],
    area_count: int,
) -> CoverageCounts:
    """Counts by age group and area. ``areas`` holds indexes in ``range(area_count)``;
    ``levels`` holds ``VaccinationLevel`` values."""
    groups = _AGE_TO_GROUP[np.clip(ages, 0, 150)]
    eligible = groups >= 0
    cell = groups[eligible].astype(np.int64) * area_count + areas[eligible]
    cells = len(GROUPS) * area_count
    population = np.bincount(cell, minlength=cells)
    eligible_levels = levels[eligible]
    reached = np.stack(
        [np.bincount(cell[eligible_levels >= k], minlength=cells) for k in (1, 2, 3)], axis=1
    )
    return CoverageCounts(
        population=population.reshape(len(GROUPS), area_count),
        reached=reached.reshape(len(GROUPS), area_count, 3),
    )


def levels_from_doses(
    *,
    resident_count: int,
    dose_resident: npt.NDArray[np.integer],
    dose_number: npt.NDArray[np.integer],
    dose_course: npt.NDArray[np.integer],
) -> npt.NDArray[np.int8]:
    """Each resident's level from the dose table: ``dose_resident`` indexes residents,
    ``dose_course`` is the primary-course length of the product of that dose (only the first
    dose's value is used, as in ``rules.level_for``)."""
    highest = np.zeros(resident_count, dtype=np.int16)
    np.maximum.at(highest, dose_resident, dose_number.astype(np.int16))
    course = np.full(resident_count, 2, dtype=np.int16)
    first = dose_number == 1
    course[dose_resident[first]] = dose_course[first]
    levels = (highest >= 1).astype(np.int8)
    levels += (highest >= course) & (highest >= 1)
    levels += highest > course
    return levels
