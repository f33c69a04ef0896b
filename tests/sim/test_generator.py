"""The synthetic city generator: determinism, valid IDs, and the parameters' distributions."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pytest

from fangkong.registry.rules import (
    resident_id_birth_date,
    resident_id_check_character,
    resident_id_sex,
)
from fangkong.sim.city import people
from fangkong.sim.city.generator import DEFAULT_SEED, City, generate
from fangkong.sim.city.parameters import load, parse

# 20,000 residents: big enough for distributions within the tolerances below, fast to build.
SAMPLE = 20_000


@lru_cache
def sample_city() -> City:
    return generate(population=SAMPLE, seed=7)


def test_it_builds_an_identical_city_for_the_same_seed() -> None:
    first = generate(population=2_000, seed=11)
    second = generate(population=2_000, seed=11)

    assert first.digest() == second.digest()
    assert first.counts() == second.counts()


def test_it_builds_a_different_city_for_another_seed() -> None:
    assert (
        generate(population=2_000, seed=11).digest() != generate(population=2_000, seed=12).digest()
    )


def test_it_refuses_a_city_too_small_to_populate_every_street() -> None:
    with pytest.raises(ValueError, match="at least 1,000"):
        generate(population=999, seed=1)


def test_it_creates_exactly_the_requested_population() -> None:
    city = sample_city()

    assert len(city.people) == SAMPLE
    assert int(city.places.household_size.sum()) == SAMPLE
    assert int(city.places.household_size.min()) >= 1


def test_it_gives_every_resident_a_valid_unique_resident_id() -> None:
    city = sample_city()
    ids = people.id_numbers(city.people.id_first_17)

    assert len(set(ids)) == SAMPLE
    # The vectorised check character agrees with the registry's rule for every person.
    assert all(resident_id_check_character(i[:17]) == i[17] for i in ids)
    births = [date(1970, 1, 1) + timedelta(days=d) for d in city.people.birth_day.tolist()]
    assert [resident_id_birth_date(i) for i in ids] == births
    sexes = ["M" if male else "F" for male in city.people.is_male.tolist()]
    assert [resident_id_sex(i) for i in ids] == sexes


def test_it_uses_the_region_code_in_force_when_the_id_was_issued() -> None:
    city = sample_city()
    codes = np.array([int(d.code) for d in city.parameters.districts])[city.person_district]
    birth_year = np.array(
        [(date(1970, 1, 1) + timedelta(days=d)).year for d in city.people.birth_day.tolist()]
    )
    luokou = codes == 430212

    # 渌口区 was 株洲县 (430221) until 2018: older residents carry the old code.
    assert set(city.people.region_code[luokou & (birth_year <= 2017)].tolist()) == {430221}
    assert set(city.people.region_code[luokou & (birth_year >= 2018)].tolist()) == {430212}
    assert np.array_equal(city.people.region_code[~luokou], codes[~luokou])


def test_it_spreads_residents_over_districts_by_census_share() -> None:
    city = sample_city()
    counts = np.bincount(city.person_district, minlength=9)
    shares = [d.share_percent for d in city.parameters.districts]

    assert counts.sum() == SAMPLE
    # Exact up to the households that straddle a grid boundary (at most a few people each).
    assert all(abs(c - s / 100 * SAMPLE) < 30 for c, s in zip(counts.tolist(), shares, strict=True))


def test_it_matches_the_household_size_distribution_within_two_points() -> None:
    city = sample_city()
    sizes = city.places.household_size
    parameters = load()

    for size, percent in parameters.household_size_percent.items():
        share = 100 * float(np.mean(sizes == size))
        assert abs(share - percent) < 2.0, (size, share, percent)
    assert abs(float(sizes.mean()) - parameters.mean_household_size) < 0.05


@pytest.mark.parametrize(
    ("_case", "lower", "upper", "percent"),
    [("children", 0, 14, 19.52), ("working age", 15, 59, 60.60), ("60 and over", 60, 200, 19.88),
     ("65 and over", 65, 200, 14.81)],
)  # fmt: skip
def test_it_matches_the_census_age_structure_within_one_point(
    _case: str, lower: int, upper: int, percent: float
) -> None:
    age = sample_city().people.age
    share = 100 * float(np.mean((age >= lower) & (age <= upper)))

    assert abs(share - percent) < 1.0


def test_it_matches_the_census_sex_ratio_within_three() -> None:
    male = sample_city().people.is_male
    ratio = 100 * float(male.sum()) / float((~male).sum())

    assert abs(ratio - load().sex_ratio) < 3.0


def test_it_makes_an_adult_the_first_member_of_every_household() -> None:
    city = sample_city()
    heads = city.people.slot == 0

    assert int(heads.sum()) == len(city.places.household_size)
    assert int(city.people.age[heads].min()) >= 20


def test_it_sends_children_to_a_school_and_adults_only_to_work() -> None:
    city = sample_city()
    kinds = np.array([*city.workplaces.kind, "none"])
    age, workplace = city.people.age, city.people.workplace

    pupils = (age >= 3) & (age <= 17)
    assert set(kinds[workplace[pupils]].tolist()) == {"school"}
    workers = (age >= 18) & (workplace >= 0)
    assert "school" not in set(kinds[workplace[workers]].tolist())
    assert int(((age < 3) | (age > 59)).sum()) > 0
    assert int((workplace[(age < 3) | (age > 59)] >= 0).sum()) == 0


def test_it_places_every_venue_kind_in_every_district_with_a_minimum() -> None:
    city = sample_city()
    hospitals = [
        n for n, k in zip(city.venues.name, city.venues.kind, strict=True) if k == "fever_clinic"
    ]

    assert len(hospitals) >= 9
    assert "中车株洲电力机车有限公司" in city.workplaces.name


def test_it_puts_venues_inside_their_districts_bounding_box() -> None:
    city = sample_city()
    for name, lat, lon in zip(
        city.venues.name, city.venues.latitude, city.venues.longitude, strict=True
    ):
        district = next(d for d in city.parameters.districts if name.startswith(d.name))
        assert district.latitude[0] <= lat <= district.latitude[1]
        assert district.longitude[0] <= lon <= district.longitude[1]


def test_it_refuses_a_parameter_file_whose_shares_do_not_add_up() -> None:
    document = dict(load().raw)
    document["household_size_percent"] = {1: 50.0, 2: 40.0}

    with pytest.raises(ValueError, match=r"household sizes add up to 90\.00 %"):
        parse(document)


def test_it_names_compounds_uniquely_within_each_community() -> None:
    # At 400,000 residents the default seed draws one name twice in a community (the registry's
    # unique constraint refused the 4,000,000 load before this); the second is the next phase.
    city = generate(population=400_000, seed=DEFAULT_SEED)
    places = city.places
    communities = places.grid_community[places.compound_grid].tolist()
    pairs = list(zip(communities, places.compound_name, strict=True))
    assert len(set(pairs)) == len(pairs)
    assert [name for name in places.compound_name if name.endswith("期")] != []
