"""Who lives there: age, sex, resident ID, name, phone and tags of every person, as columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.registry.enums import PersonTag
from fangkong.registry.rules import CHECK_CHARACTERS, CHECK_WEIGHTS
from fangkong.sim.city import names
from fangkong.sim.city.parameters import Parameters
from fangkong.sim.city.places import IntArray, Places

EPOCH = np.datetime64("1970-01-01", "D")
MAX_SEQUENCE_RANK = 499  # sequence numbers are 3 digits: 500 per sex, per region and birth date


@dataclass
class People:
    household: IntArray  # index into the households
    slot: IntArray  # 0 = first member (head), 1 = partner, 2+ = others
    age: IntArray  # whole years at the reference date
    birth_day: IntArray  # days since 1970-01-01 (negative before)
    is_male: npt.NDArray[np.bool_]
    region_code: IntArray  # the 6-digit region code of the ID
    id_first_17: IntArray  # the first 17 digits of the resident ID, as one integer
    surname: IntArray  # index into names.SURNAMES
    given_name: IntArray  # index into names.MALE_GIVEN or names.FEMALE_GIVEN by sex
    phone: IntArray  # 11-digit mobile number, 0 for none
    tags: IntArray  # PersonTag bits
    workplace: IntArray  # index into the workplaces, -1 for none

    def __len__(self) -> int:
        return len(self.household)


def build(
    parameters: Parameters, rng: np.random.Generator, places: Places, district_of_grid: IntArray
) -> People:
    raw = parameters.raw
    sizes = places.household_size
    population = int(sizes.sum())
    household = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    slot = np.arange(population) - starts[household]

    ages = draw_ages(parameters, rng, population)
    # Every household's first member is an adult: heads are drawn from the adults, everybody
    # else fills the remaining places at random.
    adults = np.flatnonzero(ages >= raw["household_head_min_age"])
    heads = rng.permutation(adults)[: len(sizes)]
    if len(heads) < len(sizes):
        raise ValueError("too few adults for the number of households")
    others = np.setdiff1d(np.arange(population), heads, assume_unique=True)
    order = np.empty(population, dtype=np.int64)
    order[slot == 0] = heads
    order[slot != 0] = rng.permutation(others)
    age = ages[order]

    male_share = parameters.sex_ratio / (parameters.sex_ratio + 100.0)
    is_male = rng.random(population) < male_share
    reference = np.datetime64(parameters.reference_date.isoformat(), "D")
    reference_day = int((reference - EPOCH).astype(np.int64))
    birth_day = reference_day - np.floor(age * 365.2425).astype(np.int64)
    birth_day -= rng.integers(0, 365, population)

    grid_of_household = grid_of_households(places)
    district = district_of_grid[grid_of_household[household]]
    district_codes = np.array([int(d.code) for d in parameters.districts], dtype=np.int64)
    region_code = district_codes[district]
    birth_year = (EPOCH + birth_day).astype("datetime64[Y]").astype(np.int64) + 1970
    for change in raw["region_code_history"]:
        earlier = (region_code == int(change["code"])) & (
            birth_year <= int(change["earlier_until_birth_year"])
        )
        region_code = np.where(earlier, int(change["earlier_code"]), region_code)

    sequence = sequence_numbers(rng, region_code, birth_day, is_male)
    id_first_17 = region_code * 10**11 + yyyymmdd(birth_day) * 1000 + sequence

    weights = np.array([w for _, w in names.SURNAMES], dtype=np.float64)
    household_surname = rng.choice(len(weights), len(sizes), p=weights / weights.sum())
    surname = np.where(
        slot == 1,
        rng.choice(len(weights), population, p=weights / weights.sum()),
        household_surname[household],
    )
    given_male = rng.integers(0, len(names.MALE_GIVEN), population)
    given_female = rng.integers(0, len(names.FEMALE_GIVEN), population)
    given_name = np.where(is_male, given_male, given_female)

    prefixes = np.array(raw["phone_prefixes"], dtype=np.int64)
    phone = prefixes[rng.integers(0, len(prefixes), population)] * 10**8 + rng.integers(
        0, 10**8, population
    )
    phone = np.where(age >= raw["phone_min_age"], phone, 0)

    people = People(
        household=household,
        slot=slot,
        age=age,
        birth_day=birth_day,
        is_male=is_male,
        region_code=region_code,
        id_first_17=id_first_17,
        surname=surname,
        given_name=given_name,
        phone=phone,
        tags=np.zeros(population, dtype=np.int64),
        workplace=np.full(population, -1, dtype=np.int64),
    )
    add_tags(parameters, rng, people, sizes)
    return people


def grid_of_households(places: Places) -> IntArray:
    compound = places.building_compound[places.household_building]
    return places.compound_grid[compound]


def draw_ages(parameters: Parameters, rng: np.random.Generator, population: int) -> IntArray:
    """Ages drawn from the pyramid: a band by its share, then a year uniformly inside it."""
    bands = parameters.age_bands
    shares = np.array([b.percent for b in bands]) / 100.0
    band = rng.choice(len(bands), population, p=shares / shares.sum())
    lower = np.array([b.lower for b in bands], dtype=np.int64)[band]
    width = np.array([b.upper - b.lower + 1 for b in bands], dtype=np.int64)[band]
    return lower + (rng.random(population) * width).astype(np.int64)


def sequence_numbers(
    rng: np.random.Generator,
    region_code: IntArray,
    birth_day: IntArray,
    is_male: npt.NDArray[np.bool_],
) -> IntArray:
    """Unique sequence numbers per region, birth date and sex: odd for men, even for women
    (GB 11643), in random order inside each group. Raises ``ValueError`` when a group would
    need more than 500 numbers (a city far denser than any real one)."""
    order = np.lexsort((rng.random(len(region_code)), is_male, birth_day, region_code))
    key_region, key_day, key_sex = region_code[order], birth_day[order], is_male[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (
        (key_region[1:] != key_region[:-1])
        | (key_day[1:] != key_day[:-1])
        | (key_sex[1:] != key_sex[:-1])
    )
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    rank_sorted = np.arange(len(order)) - group_start
    if len(order) and int(rank_sorted.max()) >= MAX_SEQUENCE_RANK:
        raise ValueError("more than 500 people share a region, birth date and sex")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_sorted
    sequence: IntArray = np.where(is_male, 2 * rank + 1, 2 * rank + 2)
    return sequence


def yyyymmdd(days: IntArray) -> IntArray:
    dates = EPOCH + days
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    packed: IntArray = year * 10000 + month * 100 + day
    return packed


def check_characters(first_17: IntArray) -> npt.NDArray[np.str_]:
    """The ISO 7064 MOD 11-2 check character of each ID, vectorised; agrees with
    :func:`fangkong.registry.rules.resident_id_check_character` (a test compares them)."""
    remaining = first_17.copy()
    total = np.zeros(len(first_17), dtype=np.int64)
    for position in range(16, -1, -1):
        total += (remaining % 10) * CHECK_WEIGHTS[position]
        remaining //= 10
    return np.array(list(CHECK_CHARACTERS))[total % 11]


def id_numbers(first_17: IntArray) -> list[str]:
    checks = check_characters(first_17)
    return [
        f"{digits:017d}{check}"
        for digits, check in zip(first_17.tolist(), checks.tolist(), strict=False)
    ]


def full_names(people: People, indices: slice) -> list[str]:
    surnames = [s for s, _ in names.SURNAMES]
    return [
        surnames[s] + (names.MALE_GIVEN[g] if male else names.FEMALE_GIVEN[g])
        for s, g, male in zip(
            people.surname[indices].tolist(),
            people.given_name[indices].tolist(),
            people.is_male[indices].tolist(),
            strict=True,
        )
    ]


def add_tags(
    parameters: Parameters, rng: np.random.Generator, people: People, sizes: IntArray
) -> None:
    """Tags that do not depend on work (work-related tags are added with the workplaces)."""
    spec = parameters.raw["tags"]
    n = len(people)
    age, female = people.age, ~people.is_male
    draw = rng.random((5, n))
    tags = np.zeros(n, dtype=np.int64)
    alone = sizes[people.household] == 1
    tags |= np.where(
        alone & (age >= spec["elderly_alone_min_age"]), int(PersonTag.ELDERLY_ALONE), 0
    )
    pregnant = female & (age >= 20) & (age <= 39) & (draw[0] < spec["pregnant_women_20_39"])
    tags |= np.where(pregnant, int(PersonTag.PREGNANT), 0)
    tags |= np.where(draw[1] < spec["dialysis"], int(PersonTag.DIALYSIS), 0)
    chronic = (age >= 60) & (draw[2] < spec["chronic_medicine_60_plus"])
    tags |= np.where(chronic, int(PersonTag.CHRONIC_MEDICINE), 0)
    tags |= np.where(draw[3] < spec["disabled"], int(PersonTag.DISABLED), 0)
    bedridden = (age >= 80) & (draw[4] < spec["bedridden_80_plus"])
    tags |= np.where(bedridden, int(PersonTag.BEDRIDDEN), 0)
    people.tags = tags
