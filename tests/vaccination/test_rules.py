from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fangkong.vaccination import coverage, rules
from fangkong.vaccination.enums import AgeGroup, VaccinationLevel
from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.products import BY_CVX, find_product

TODAY = date(2022, 11, 20)
SINOVAC = BY_CVX["511"]
PRIOR = [rules.PriorDose(1, date(2021, 4, 1), "511")]


@pytest.mark.parametrize(
    ("_case", "dose_number", "given", "prior", "expected"),
    [
        ("first dose", 1, date(2021, 4, 1), [], None),
        ("second after first", 2, date(2021, 5, 1), PRIOR, None),
        ("skips a dose", 3, date(2021, 5, 1), PRIOR, E.DOSE_OUT_OF_SEQUENCE),
        ("second without first", 2, date(2021, 5, 1), [], E.DOSE_OUT_OF_SEQUENCE),
        ("same dose twice", 1, date(2021, 5, 1), PRIOR, E.DOSE_DUPLICATE),
        ("before the product existed", 1, date(2020, 7, 21), [], E.DATE_BEFORE_PRODUCT),
        ("on the first day of emergency use", 1, date(2020, 7, 22), [], None),
        ("in the future", 1, date(2022, 11, 21), [], E.DATE_IN_FUTURE),
        ("before the previous dose", 2, date(2021, 3, 1), PRIOR, E.DATE_BEFORE_PREVIOUS_DOSE),
        ("dose zero", 0, date(2021, 4, 1), [], E.DOSE_NUMBER_INVALID),
        ("dose seven", 7, date(2021, 4, 1), [], E.DOSE_NUMBER_INVALID),
    ],
)
def test_it_accepts_only_the_next_dose_on_a_possible_date(
    _case: str, dose_number: int, given: date, prior: list[rules.PriorDose], expected: E | None
) -> None:
    refusal = rules.dose_refusal(
        product=SINOVAC, dose_number=dose_number, administered_on=given, prior=prior, today=TODAY
    )
    assert refusal == expected


@pytest.mark.parametrize(
    ("_case", "highest", "first_product", "level"),
    [
        ("none", 0, None, VaccinationLevel.NONE),
        ("one of two inactivated", 1, "510", VaccinationLevel.FIRST_DOSE),
        ("two of two inactivated", 2, "510", VaccinationLevel.FULL_COURSE),
        ("third inactivated is a booster", 3, "511", VaccinationLevel.BOOSTER),
        ("one adenovirus dose is a full course", 1, "506", VaccinationLevel.FULL_COURSE),
        ("two of three protein subunit", 2, "507", VaccinationLevel.FIRST_DOSE),
        ("three of three protein subunit", 3, "507", VaccinationLevel.FULL_COURSE),
    ],
)
def test_it_reads_the_level_from_the_product_course(
    _case: str, highest: int, first_product: str | None, level: VaccinationLevel
) -> None:
    assert rules.level_for(highest_dose=highest, first_product=first_product) is level


def test_it_finds_products_by_cvx_code_and_chinese_name() -> None:
    assert find_product("510") is find_product("北京生物") is BY_CVX["510"]
    assert find_product("克威莎") is BY_CVX["506"]
    assert find_product("207") is None


@pytest.mark.parametrize(
    ("age", "group"),
    [
        (2, None),
        (3, AgeGroup.AGE_3_11),
        (17, AgeGroup.AGE_12_17),
        (59, AgeGroup.AGE_18_59),
        (60, AgeGroup.AGE_60_69),
        (80, AgeGroup.AGE_80_PLUS),
    ],
)
def test_it_places_ages_in_groups(age: int, group: AgeGroup | None) -> None:
    assert rules.age_group(age) == group


def test_it_counts_coverage_the_same_as_a_row_by_row_count() -> None:
    rng = np.random.default_rng(7)
    ages = rng.integers(0, 100, 5000)
    areas = rng.integers(0, 9, 5000)
    levels = rng.integers(0, 4, 5000)

    counts = coverage.count(ages=ages, areas=areas, levels=levels, area_count=9)

    expected_population: dict[tuple[int, int], int] = {}
    expected_full: dict[tuple[int, int], int] = {}
    for age, area, level in zip(ages.tolist(), areas.tolist(), levels.tolist(), strict=True):
        group = rules.age_group(age)
        if group is None:
            continue
        key = (coverage.GROUPS.index(group), area)
        expected_population[key] = expected_population.get(key, 0) + 1
        expected_full[key] = expected_full.get(key, 0) + (level >= 2)
    assert {k: int(counts.population[k]) for k in expected_population} == expected_population
    assert {k: int(counts.reached[k][1]) for k in expected_full} == expected_full
    assert int(counts.population.sum()) == sum(expected_population.values())


def test_it_derives_levels_from_the_dose_table() -> None:
    levels = coverage.levels_from_doses(
        resident_count=4,
        dose_resident=np.array([0, 0, 0, 1, 2, 2]),
        dose_number=np.array([1, 2, 3, 1, 1, 2]),
        dose_product=np.array(["510", "510", "510", "506", "507", "507"]),
    )
    assert levels.tolist() == [3, 2, 1, 0]


def test_it_computes_ages_from_birth_dates_as_the_rule_does() -> None:
    births = [date(2000, 2, 29), date(1962, 11, 20), date(1962, 11, 21), date(2019, 12, 31)]
    on = date(2022, 11, 20)

    ages = coverage.ages_on(np.array(births, dtype="datetime64[D]"), on)

    assert ages.tolist() == [rules.age_on(b, on) for b in births] == [22, 60, 59, 2]


def test_it_reads_course_lengths_of_each_dose_product() -> None:
    assert coverage.course_lengths(["510", "506", "507", "999"]).tolist() == [2, 1, 3, 2]
    assert coverage.course_lengths([]).tolist() == []


def test_it_sets_a_higher_full_course_target_for_teenagers_only() -> None:
    levels = (VaccinationLevel.FIRST_DOSE, VaccinationLevel.FULL_COURSE, VaccinationLevel.BOOSTER)
    assert [rules.target_for(AgeGroup.AGE_12_17, level) for level in levels] == [0.95, 0.92, 0.8]
    assert [rules.target_for(AgeGroup.AGE_70_79, level) for level in levels] == [0.95, 0.9, 0.8]
