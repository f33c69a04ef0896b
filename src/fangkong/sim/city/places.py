"""Where people live: communities, grids, compounds, buildings and households.

Everything is columnar (numpy arrays indexed from 0); the loader turns indices into database ids.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.registry import service as registry_service
from fangkong.sim.city import names
from fangkong.sim.city.parameters import Parameters

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    district_index: int

    @property
    def is_street(self) -> bool:
        """街道 have sequence numbers 001-099; towns (镇) and townships (乡) 100 and up."""
        return int(self.code[6:9]) < 100

    @property
    def path(self) -> str:
        return f"/{self.code[:2]}/{self.code[:4]}/{self.code[:6]}/{self.code}/"


@dataclass
class Places:
    townships: list[Township]
    # communities (level "community")
    community_code: list[str]
    community_name: list[str]
    community_township: IntArray
    # grids (level "grid")
    grid_code: list[str]
    grid_name: list[str]
    grid_community: IntArray
    # compounds, buildings and households
    compound_grid: IntArray
    compound_name: list[str]
    compound_latitude: FloatArray
    compound_longitude: FloatArray
    building_compound: IntArray
    building_number: IntArray  # "3栋" within its compound
    building_units: IntArray
    building_floors: IntArray
    building_latitude: FloatArray
    building_longitude: FloatArray
    household_building: IntArray
    household_unit: IntArray
    household_floor: IntArray
    household_room: IntArray  # 302 = floor 3, room 2
    household_size: IntArray

    def community_path(self, index: int) -> str:
        township = self.townships[int(self.community_township[index])]
        return f"{township.path}{self.community_code[index]}/"

    def grid_paths(self) -> list[str]:
        community_paths = [self.community_path(i) for i in range(len(self.community_code))]
        return [
            f"{community_paths[int(c)]}{code}/"
            for c, code in zip(self.grid_community, self.grid_code, strict=True)
        ]

    def grid_district(self) -> IntArray:
        township_district = np.array([t.district_index for t in self.townships], dtype=np.int64)
        return township_district[self.community_township[self.grid_community]]


def read_townships(parameters: Parameters) -> list[Township]:
    """The streets and towns of the city's districts, in code order, from the division table."""
    district_index = {d.code: i for i, d in enumerate(parameters.districts)}
    with registry_service.divisions_path().open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["level"] == "township"]
    townships = [
        Township(row["code"], row["name"], district_index[row["code"][:6]])
        for row in rows
        if row["code"][:6] in district_index
    ]
    return sorted(townships, key=lambda t: t.code)


def split(rng: np.random.Generator, total: int, parts: int, sigma: float = 0.5) -> IntArray:
    """``total`` split into ``parts`` uneven non-negative integers (lognormal weights)."""
    weights = rng.lognormal(0.0, sigma, parts)
    return rng.multinomial(total, weights / weights.sum()).astype(np.int64)


def district_populations(parameters: Parameters, population: int) -> IntArray:
    """Residents per district by the census shares, rounded by largest remainder so the
    districts add up to exactly ``population``."""
    exact = np.array([d.share_percent for d in parameters.districts]) / 100.0 * population
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: population - int(counts.sum())]] += 1
    return counts


def build(parameters: Parameters, rng: np.random.Generator, population: int) -> Places:
    raw = parameters.raw
    townships = read_townships(parameters)
    by_district = district_populations(parameters, population)

    community_code: list[str] = []
    community_name: list[str] = []
    community_township: list[int] = []
    grid_code: list[str] = []
    grid_name: list[str] = []
    grid_community: list[int] = []
    grid_target: list[int] = []
    for d_index, _district in enumerate(parameters.districts):
        members = [i for i, t in enumerate(townships) if t.district_index == d_index]
        for t_index, t_pop in zip(
            members, split(rng, int(by_district[d_index]), len(members)), strict=False
        ):
            township = townships[t_index]
            per_community = raw["residents_per_community"][
                "urban" if township.is_street else "rural"
            ]
            n_communities = max(1, round(int(t_pop) / per_community))
            first = 1 if township.is_street else 201
            if first + n_communities > 1000:
                raise ValueError(f"{township.code} would need {n_communities} communities")
            for k, c_pop in enumerate(split(rng, int(t_pop), n_communities)):
                code = f"{township.code}{first + k:03d}"
                place = "".join(rng.choice(list(names.PLACE_CHARACTERS), 2))
                community_code.append(code)
                community_name.append(place + ("社区" if township.is_street else "村"))
                community_township.append(t_index)
                n_grids = max(1, -(-int(c_pop) // raw["residents_per_grid"]))
                base, extra = divmod(int(c_pop), n_grids)
                for g in range(n_grids):
                    grid_code.append(f"{code}{g + 1:03d}")
                    grid_name.append(f"第{g + 1}网格")
                    grid_community.append(len(community_code) - 1)
                    grid_target.append(base + (1 if g < extra else 0))

    sizes = household_sizes(parameters, rng, population)
    starts = np.cumsum(sizes) - sizes
    household_grid = np.searchsorted(np.cumsum(grid_target), starts, side="right")

    places = Places(
        townships=townships,
        community_code=community_code,
        community_name=community_name,
        community_township=np.array(community_township, dtype=np.int64),
        grid_code=grid_code,
        grid_name=grid_name,
        grid_community=np.array(grid_community, dtype=np.int64),
        compound_grid=np.zeros(0, dtype=np.int64),
        compound_name=[],
        compound_latitude=np.zeros(0),
        compound_longitude=np.zeros(0),
        building_compound=np.zeros(0, dtype=np.int64),
        building_number=np.zeros(0, dtype=np.int64),
        building_units=np.zeros(0, dtype=np.int64),
        building_floors=np.zeros(0, dtype=np.int64),
        building_latitude=np.zeros(0),
        building_longitude=np.zeros(0),
        household_building=np.zeros(0, dtype=np.int64),
        household_unit=np.zeros(0, dtype=np.int64),
        household_floor=np.zeros(0, dtype=np.int64),
        household_room=np.zeros(0, dtype=np.int64),
        household_size=sizes,
    )
    _add_buildings(places, parameters, rng, household_grid)
    return places


def household_sizes(parameters: Parameters, rng: np.random.Generator, population: int) -> IntArray:
    """Household sizes drawn from the census distribution, the last one trimmed so they add up
    to exactly ``population``."""
    values = np.array(sorted(parameters.household_size_percent), dtype=np.int64)
    shares = np.array([parameters.household_size_percent[v] for v in values]) / 100.0
    draws = int(population / parameters.mean_household_size * 1.1) + 16
    sizes = rng.choice(values, size=draws, p=shares / shares.sum())
    cumulative = np.cumsum(sizes)
    count = int(np.searchsorted(cumulative, population)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= int(cumulative[count - 1]) - population
    return sizes


def _add_buildings(
    places: Places, parameters: Parameters, rng: np.random.Generator, household_grid: IntArray
) -> None:
    """Fill each grid's households into buildings (stairwell by stairwell, floor by floor) and
    group the buildings into compounds."""
    raw = parameters.raw
    per_floor = int(raw["households_per_unit_floor"])
    per_compound = int(raw["buildings_per_compound"])
    grid_district = places.grid_district()
    grid_township = places.community_township[places.grid_community]
    n_grids = len(places.grid_code)
    households_per_grid = np.bincount(household_grid, minlength=n_grids)
    compound_grid: list[int] = []
    compound_name: list[str] = []
    compound_lat: list[float] = []
    compound_lon: list[float] = []
    b_compound: list[IntArray] = []
    b_number: list[IntArray] = []
    b_units: list[IntArray] = []
    b_floors: list[IntArray] = []
    b_start: list[IntArray] = []
    first_household = 0
    n_buildings = 0
    # Compound names are unique within a community (the registry enforces it); a drawn name that
    # is taken becomes the next phase of that estate: 华山花园, 华山花园2期, 华山花园3期.
    names_taken: dict[tuple[int, str], int] = {}
    for g in range(n_grids):
        count = int(households_per_grid[g])
        if count == 0:
            continue
        district = parameters.districts[int(grid_district[g])]
        kind = "urban" if places.townships[int(grid_township[g])].is_street else "rural"
        floors_range = raw["building_floors"][kind]
        units_range = raw["building_units"][kind]
        guess = count // (floors_range[0] * units_range[0] * per_floor) + 1
        floors = rng.integers(floors_range[0], floors_range[1] + 1, guess)
        units = rng.integers(units_range[0], units_range[1] + 1, guess)
        capacity = np.cumsum(floors * units * per_floor)
        used = int(np.searchsorted(capacity, count)) + 1
        starts = first_household + np.concatenate(([0], capacity[: used - 1]))
        n_compounds = -(-used // per_compound)
        centre_lat = rng.uniform(*district.latitude)
        centre_lon = rng.uniform(*district.longitude)
        for c in range(n_compounds):
            compound_grid.append(g)
            place = "".join(rng.choice(list(names.PLACE_CHARACTERS), 2))
            name = place + names.COMPOUND_SUFFIXES[int(rng.integers(0, 6))]
            key = (int(places.grid_community[g]), name)
            names_taken[key] = names_taken.get(key, 0) + 1
            compound_name.append(name if names_taken[key] == 1 else f"{name}{names_taken[key]}期")
            compound_lat.append(centre_lat + rng.uniform(-0.004, 0.004) + c * 0.001)
            compound_lon.append(centre_lon + rng.uniform(-0.004, 0.004))
        local = np.arange(used)
        b_compound.append(len(compound_grid) - n_compounds + local // per_compound)
        b_number.append(local % per_compound + 1)
        b_units.append(units[:used])
        b_floors.append(floors[:used])
        b_start.append(starts)
        first_household += count
        n_buildings += used
    places.compound_grid = np.array(compound_grid, dtype=np.int64)
    places.compound_name = compound_name
    places.compound_latitude = np.array(compound_lat)
    places.compound_longitude = np.array(compound_lon)
    places.building_compound = np.concatenate(b_compound).astype(np.int64)
    places.building_number = np.concatenate(b_number).astype(np.int64)
    places.building_units = np.concatenate(b_units).astype(np.int64)
    places.building_floors = np.concatenate(b_floors).astype(np.int64)
    jitter = rng.uniform(-0.001, 0.001, (n_buildings, 2))
    places.building_latitude = places.compound_latitude[places.building_compound] + jitter[:, 0]
    places.building_longitude = places.compound_longitude[places.building_compound] + jitter[:, 1]

    building_start = np.concatenate(b_start).astype(np.int64)
    n_households = len(household_grid)
    # Buildings were filled in grid order, as were the households, so each household's
    # building is the last one starting at or before it.
    building = np.searchsorted(building_start, np.arange(n_households), side="right") - 1
    local_index = np.arange(n_households) - building_start[building]
    per_unit = places.building_floors[building] * per_floor
    places.household_building = building
    places.household_unit = local_index // per_unit + 1
    places.household_floor = (local_index % per_unit) // per_floor + 1
    places.household_room = places.household_floor * 100 + local_index % per_floor + 1
