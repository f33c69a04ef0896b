"""Pure rules of vaccination: which doses are acceptable, how far a person has got, age groups.

No database and no clock: ``today`` and ``on`` are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fangkong.vaccination.enums import AgeGroup, VaccinationLevel
from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.products import BY_CVX, VaccineProduct

# More doses than this is a data error (two primary + two boosters was the most given in 2022).
MAX_DOSE_NUMBER = 6
ELDERLY_AGE = 60
# Course length assumed for a product not in the table (most products had two primary doses).
DEFAULT_PRIMARY_DOSES = 2
# Lower bound (inclusive) of each group; China vaccinated from age 3 (NHC, 2021).
AGE_GROUP_FLOORS: tuple[tuple[int, AgeGroup], ...] = (
    (80, AgeGroup.AGE_80_PLUS),
    (70, AgeGroup.AGE_70_79),
    (60, AgeGroup.AGE_60_69),
    (18, AgeGroup.AGE_18_59),
    (12, AgeGroup.AGE_12_17),
    (3, AgeGroup.AGE_3_11),
)
# Coverage targets per level, as shares of each group's population. A local planning choice
# (no national numeric target is cited here): set them per city.
DEFAULT_TARGETS = {
    VaccinationLevel.FIRST_DOSE: 0.95,
    VaccinationLevel.FULL_COURSE: 0.90,
    VaccinationLevel.BOOSTER: 0.80,
}
# Targets that differ for one age group (the example: 92 % of 12–17-year-olds with a
# full course). Also a local planning choice; a group and level not listed uses the default.
GROUP_TARGETS: dict[AgeGroup, dict[VaccinationLevel, float]] = {
    AgeGroup.AGE_12_17: {VaccinationLevel.FULL_COURSE: 0.92},
}


@dataclass(frozen=True)
class PriorDose:
    dose_number: int
    administered_on: date
    product: str


def dose_refusal(
    *,
    product: VaccineProduct,
    dose_number: int,
    administered_on: date,
    prior: Sequence[PriorDose],
    today: date,
) -> E | None:
    """Why this dose cannot be recorded after ``prior`` (the person's doses so far), or None.

    A dose must be the next in sequence, on or after the previous one, not in the future, and
    not before the product could have been given in China.
    """
    if not 1 <= dose_number <= MAX_DOSE_NUMBER:
        return E.DOSE_NUMBER_INVALID
    if administered_on > today:
        return E.DATE_IN_FUTURE
    if administered_on < product.available_from:
        return E.DATE_BEFORE_PRODUCT
    if any(p.dose_number == dose_number for p in prior):
        return E.DOSE_DUPLICATE
    last = max(prior, key=lambda p: p.dose_number, default=None)
    expected = 1 if last is None else last.dose_number + 1
    if dose_number != expected:
        return E.DOSE_OUT_OF_SEQUENCE
    if last is not None and administered_on < last.administered_on:
        return E.DATE_BEFORE_PREVIOUS_DOSE
    return None


def primary_doses(first_product: str | None) -> int:
    """The length of the primary course of the product a person started with."""
    product = BY_CVX.get(first_product or "")
    return product.primary_doses if product else DEFAULT_PRIMARY_DOSES


def level_for(*, highest_dose: int, first_product: str | None) -> VaccinationLevel:
    if highest_dose <= 0:
        return VaccinationLevel.NONE
    course = primary_doses(first_product)
    if highest_dose > course:
        return VaccinationLevel.BOOSTER
    if highest_dose == course:
        return VaccinationLevel.FULL_COURSE
    return VaccinationLevel.FIRST_DOSE


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def age_group(age: int) -> AgeGroup | None:
    """The group of a person aged ``age`` in whole years; None under 3 (not eligible)."""
    for floor, group in AGE_GROUP_FLOORS:
        if age >= floor:
            return group
    return None


def target_for(group: AgeGroup, level: VaccinationLevel) -> float:
    """The share of ``group`` that should have reached ``level``."""
    return GROUP_TARGETS.get(group, {}).get(level, DEFAULT_TARGETS[level])
