"""Generate a synthetic Zhuzhou: deterministic for a seed, columnar so 4 million people fit.

``generate(population=N, seed=S)`` returns a :class:`City` held in numpy arrays (indices from 0).
Nothing here touches the database; :mod:`fangkong.sim.city.load` writes a city with the
registry's bulk loader. The same parameters and seed give a byte-identical city
(:meth:`City.digest`), on any machine with the same numpy major version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from fangkong.sim.city import economy, people, places
from fangkong.sim.city.economy import Sites
from fangkong.sim.city.parameters import Parameters, load
from fangkong.sim.city.people import People
from fangkong.sim.city.places import IntArray, Places

DEFAULT_POPULATION = 100_000
DEFAULT_SEED = 2022


@dataclass
class City:
    parameters: Parameters
    population: int
    seed: int
    places: Places
    people: People
    workplaces: Sites
    venues: Sites
    grid_paths: list[str]
    person_district: IntArray

    def counts(self) -> dict[str, int]:
        """Rows per table this city writes (the loader reports the same numbers)."""
        return {
            "community": len(self.places.community_code),
            "grid": len(self.places.grid_code),
            "compound": len(self.places.compound_name),
            "building": len(self.places.building_compound),
            "household": len(self.places.household_building),
            "person": len(self.people),
            "workplace": len(self.workplaces),
            "venue": len(self.venues),
            "grid_worker": len(self.places.grid_code),
        }

    def digest(self) -> str:
        """SHA-256 over every generated column, in a fixed order: equal digests mean equal
        cities (used by the determinism test)."""
        hasher = hashlib.sha256()
        for part in (self.places, self.people, self.workplaces, self.venues):
            for column in fields(part):
                value = getattr(part, column.name)
                hasher.update(column.name.encode())
                if isinstance(value, np.ndarray):
                    hasher.update(np.ascontiguousarray(value).tobytes())
                else:
                    hasher.update(repr(value).encode())
        return hasher.hexdigest()


def generate(
    *,
    population: int = DEFAULT_POPULATION,
    seed: int = DEFAULT_SEED,
    parameters: Parameters | None = None,
    progress: Callable[[str], None] | None = None,
) -> City:
    """Build a city of ``population`` residents. Raises ``ValueError`` for a population under
    1,000 (too small to give every street a community and every household an adult)."""
    if population < 1000:
        raise ValueError("the synthetic city needs at least 1,000 residents")
    parameters = parameters or load()
    rng = np.random.default_rng(seed)
    step = progress or (lambda _label: None)

    step("places")
    city_places = places.build(parameters, rng, population)
    grid_district = city_places.grid_district()
    step("people")
    city_people = people.build(parameters, rng, city_places, grid_district)
    grid_of_household = people.grid_of_households(city_places)
    person_grid = grid_of_household[city_people.household]
    person_district = grid_district[person_grid]
    person_township = city_places.community_township[city_places.grid_community[person_grid]]
    step("work, schools and venues")
    workplaces, venues = economy.build(
        parameters, rng, city_places, city_people, person_district, person_township
    )
    return City(
        parameters=parameters,
        population=population,
        seed=seed,
        places=city_places,
        people=city_people,
        workplaces=workplaces,
        venues=venues,
        grid_paths=city_places.grid_paths(),
        person_district=person_district,
    )
