"""Vaccination coverage as array arithmetic: one pass of ``bincount`` over every resident.

Input is one row per resident (age, area index, level); output is, for every (age group, area),
the population and how many have reached each level. Pure and vectorised so that a city of
millions is counted in a fraction of a second (``bench/bench_enterprise.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fangkong.vaccination.enums import AgeGroup
from fangkong.vaccination.products import PRODUCTS
from fangkong.vaccination.rules import AGE_GROUP_FLOORS, DEFAULT_PRIMARY_DOSES

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
    dose_product: npt.NDArray[np.str_],
) -> npt.NDArray[np.int8]:
    """Each resident's level from the dose table: ``dose_resident`` indexes residents,
    ``dose_product`` holds CVX codes. The course is that of the first dose's product, as in
    ``rules.level_for``, so only first doses are looked up."""
    highest = np.zeros(resident_count, dtype=np.int16)
    np.maximum.at(highest, dose_resident, dose_number.astype(np.int16))
    course = np.full(resident_count, DEFAULT_PRIMARY_DOSES, dtype=np.int16)
    first = dose_number == 1
    course[dose_resident[first]] = course_lengths(dose_product[first])
    levels = (highest >= 1).astype(np.int8)
    levels += (highest >= course) & (highest >= 1)
    levels += highest > course
    return levels


def ages_on(births: npt.NDArray[np.datetime64], on: date) -> npt.NDArray[np.int64]:
    """Age in whole years on ``on`` of each birth date (``datetime64[D]``), as ``rules.age_on``.

    The calendar date is recovered from the day number with integer arithmetic (the proleptic
    Gregorian "civil from days" algorithm): numpy's own ``datetime64[Y]``/``[M]`` conversions
    took ten times longer on millions of dates.
    """
    z = births.astype("datetime64[D]").astype(np.int64) + 719_468  # days since 0000-03-01
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # 0 = March … 11 = February
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    before_birthday = (month > on.month) | ((month == on.month) & (day > on.day))
    return np.asarray(on.year - year - before_birthday, dtype=np.int64)


def course_lengths(products: Sequence[str] | npt.NDArray[np.str_]) -> npt.NDArray[np.int16]:
    """The primary-course length of each dose's product (CVX codes), as ``rules.primary_doses``.

    One vector comparison per known product: there are few products and millions of doses."""
    codes = np.asarray(products)
    if codes.dtype.kind != "U":
        codes = codes.astype(str)
    lengths = np.full(len(codes), DEFAULT_PRIMARY_DOSES, dtype=np.int16)
    for product in PRODUCTS:
        lengths[codes == product.cvx] = product.primary_doses
    return lengths
