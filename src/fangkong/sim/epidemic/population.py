"""The people the model runs on: one numpy array per attribute, one entry per person.

Drills fill a :class:`Population` from the generated city (``fangkong.sim.city``), so every
household, building and community id matches a row the platform knows. ``Population.synthetic``
builds a plausible stand-in (Hunan 2020 census age structure and household size) so the model
can be tested and benchmarked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fangkong.core.errors import FangkongError
from fangkong.sim.epidemic.errors import EpidemicErrorCode
from fangkong.sim.epidemic.parameters import population_value

IntArray = NDArray[np.int32]
NO_PLACE = -1
"""``workplace``/``school`` of a person who has none."""


@dataclass(frozen=True)
class Population:
    """Per-person arrays of equal length ``n``; ids are dense integers from 0.

    ``age`` is in whole years; ``sex`` is 1 for male and 0 for female. ``workplace`` and
    ``school`` are ``NO_PLACE`` (−1) for people who have none. ``venue_community[v]`` is the
    community of place-code venue ``v``; people visit venues of their own community.
    ``venue_propensity`` scales each person's daily chance of a venue visit (mean about 1).
    """

    age: NDArray[np.int16]
    sex: NDArray[np.int8]
    household: IntArray
    building: IntArray
    compound: IntArray
    community: IntArray
    district: NDArray[np.int16]
    workplace: IntArray
    school: IntArray
    venue_community: IntArray = field(default_factory=lambda: np.zeros(0, np.int32))
    venue_propensity: NDArray[np.float32] | None = None

    @property
    def size(self) -> int:
        return int(self.age.shape[0])

    @property
    def venue_count(self) -> int:
        return int(self.venue_community.shape[0])

    def validate(self) -> None:
        """Raise ``FangkongError`` (POPULATION_*) unless the arrays are consistent."""
        n = self.size
        if n == 0:
            raise FangkongError(EpidemicErrorCode.POPULATION_EMPTY, "The population is empty")
        per_person: dict[str, Any] = {
            "sex": self.sex,
            "household": self.household,
            "building": self.building,
            "compound": self.compound,
            "community": self.community,
            "district": self.district,
            "workplace": self.workplace,
            "school": self.school,
        }
        if self.venue_propensity is not None:
            per_person["venue_propensity"] = self.venue_propensity
        for name, values in per_person.items():
            if values.shape != (n,):
                raise FangkongError(
                    EpidemicErrorCode.POPULATION_LENGTH_MISMATCH,
                    f"{name} has shape {values.shape}, expected ({n},)",
                    field=name,
                )
        lowest = {"workplace": NO_PLACE, "school": NO_PLACE, "venue_propensity": 0}
        for name, values in [("age", self.age), *per_person.items()]:
            if values.min() < lowest.get(name, 0):
                raise FangkongError(
                    EpidemicErrorCode.POPULATION_ID_INVALID,
                    f"{name} has a value below {lowest.get(name, 0)}",
                    field=name,
                )
        if self.venue_count and (
            self.venue_community.min() < 0 or self.venue_community.max() > self.community.max()
        ):
            raise FangkongError(
                EpidemicErrorCode.POPULATION_ID_INVALID,
                "venue_community names a community nobody lives in",
                field="venue_community",
            )

    @classmethod
    def synthetic(cls, n: int, seed: int) -> Population:
        """A plausible city of ``n`` people, identical for the same ``(n, seed)``.

        Ages follow Hunan's 2020 census shares; household sizes are 1 + Poisson, averaging the
        census 2.6; households fill buildings, compounds, communities and districts in order.
        Pupils go to the nearest school (schools are filled in residential order); workers are
        spread over the whole city in workplaces of geometric size.
        """
        if n <= 0:
            raise FangkongError(
                EpidemicErrorCode.POPULATION_EMPTY, "The population is empty", field="n"
            )
        rng = np.random.default_rng(seed)
        age = rng.choice(_age_probabilities().shape[0], size=n, p=_age_probabilities())
        male_share = population_value("sex_ratio") / (100 + population_value("sex_ratio"))
        sex = (rng.random(n) < male_share).astype(np.int8)

        mean_household = float(population_value("mean_household_size"))
        sizes = 1 + rng.poisson(mean_household - 1, size=n // 2 + 2)
        while sizes.sum() < n:  # only ever for a handful of people
            sizes = np.concatenate((sizes, 1 + rng.poisson(mean_household - 1, size=n)))
        household = np.repeat(np.arange(sizes.shape[0], dtype=np.int32), sizes)[:n]
        building = household // int(population_value("households_per_building"))
        compound = building // int(population_value("buildings_per_compound"))
        community = compound // int(population_value("compounds_per_community"))
        district = community // int(population_value("communities_per_district"))

        first_school_age, last_school_age = population_value("school_ages")
        school = np.full(n, NO_PLACE, np.int32)
        pupils = np.flatnonzero((age >= first_school_age) & (age <= last_school_age))
        school[pupils] = np.arange(pupils.shape[0]) // int(population_value("school_size"))

        first_working_age, last_working_age = population_value("working_ages")
        of_age = (age >= first_working_age) & (age <= last_working_age)
        workers = rng.permutation(
            np.flatnonzero(of_age & (rng.random(n) < population_value("employment_rate")))
        )
        workplace = np.full(n, NO_PLACE, np.int32)
        workplace_sizes = rng.geometric(1 / population_value("workplace_size"), workers.shape[0])
        workplace[workers] = np.repeat(
            np.arange(workplace_sizes.shape[0], dtype=np.int32), workplace_sizes
        )[: workers.shape[0]]

        communities = int(community[-1]) + 1
        venues = max(1, round(n / population_value("residents_per_venue")))
        venue_community = (np.arange(venues, dtype=np.int64) * communities // venues).astype(
            np.int32
        )
        return cls(
            age=age.astype(np.int16),
            sex=sex,
            household=household.astype(np.int32),
            building=building.astype(np.int32),
            compound=compound.astype(np.int32),
            community=community.astype(np.int32),
            district=district.astype(np.int16),
            workplace=workplace,
            school=school,
            venue_community=venue_community,
            venue_propensity=rng.gamma(2.0, 0.5, n).astype(np.float32),
        )


def _age_probabilities() -> NDArray[np.float64]:
    """Probability of each whole year of age 0..oldest from the census shares.

    Uniform inside the census bands 0-14, 15-59 and 60-64; from 65 the share falls linearly to
    zero at ``oldest_age``, which is how an old-age pyramid thins out.
    """
    oldest = int(population_value("oldest_age"))
    weights = np.zeros(oldest + 1)
    weights[0:15] = population_value("age_share_0_14") / 15
    weights[15:60] = population_value("age_share_15_59") / 45
    weights[60:65] = population_value("age_share_60_64") / 5
    tail = np.arange(oldest + 1 - 65, 0, -1, dtype=np.float64)
    weights[65:] = population_value("age_share_65_plus") * tail / tail.sum()
    probabilities: NDArray[np.float64] = weights / weights.sum()
    return probabilities
