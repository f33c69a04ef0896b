"""Where people work, study and go: enterprises, industrial sites, schools and venues."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fangkong.registry.enums import PersonTag, VenueKind, WorkplaceKind
from fangkong.sim.city import names
from fangkong.sim.city.parameters import Parameters
from fangkong.sim.city.people import People
from fangkong.sim.city.places import IntArray, Places

INDUSTRY_KIND = {
    "health": WorkplaceKind.HOSPITAL,
    "public_administration": WorkplaceKind.GOVERNMENT,
    "retail_wholesale": WorkplaceKind.SHOP,
}


@dataclass
class Sites:
    """Workplaces or venues, one entry per site; ``community`` indexes ``Places``."""

    name: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    industry: list[str | None] = field(default_factory=list)
    community: list[int] = field(default_factory=list)
    latitude: list[float] = field(default_factory=list)
    longitude: list[float] = field(default_factory=list)

    def add(
        self, *, name: str, kind: str, industry: str | None, community: int, at: tuple[float, float]
    ) -> int:
        self.name.append(name)
        self.kind.append(kind)
        self.industry.append(industry)
        self.community.append(community)
        self.latitude.append(at[0])
        self.longitude.append(at[1])
        return len(self.name) - 1

    def __len__(self) -> int:
        return len(self.name)


def build(
    parameters: Parameters,
    rng: np.random.Generator,
    places: Places,
    people: People,
    person_district: IntArray,
    person_township: IntArray,
) -> tuple[Sites, Sites]:
    """Workplaces (people's ``workplace`` is set in place) and venues."""
    workplaces = Sites()
    community_district = np.array(
        [places.townships[int(t)].district_index for t in places.community_township]
    )
    _add_work(parameters, rng, places, people, person_district, community_district, workplaces)
    _add_schools(parameters, rng, places, people, person_district, person_township, workplaces)
    venues = _venues(parameters, rng, community_district, person_district)
    return workplaces, venues


def _point(rng: np.random.Generator, parameters: Parameters, district: int) -> tuple[float, float]:
    spec = parameters.districts[district]
    return float(rng.uniform(*spec.latitude)), float(rng.uniform(*spec.longitude))


def _community_in(rng: np.random.Generator, community_district: IntArray, district: int) -> int:
    return int(rng.choice(np.flatnonzero(community_district == district)))


def _add_work(
    parameters: Parameters,
    rng: np.random.Generator,
    places: Places,
    people: People,
    person_district: IntArray,
    community_district: IntArray,
    workplaces: Sites,
) -> None:
    raw = parameters.raw
    scale = len(people) / parameters.census_population
    working = (people.age >= 18) & (people.age <= 59)
    working &= rng.random(len(people)) < raw["employment_rate_18_59"]
    industries = list(raw["industries_percent"])
    shares = np.array([raw["industries_percent"][i] for i in industries], dtype=np.float64)
    staff = raw["enterprise_staff_lognormal"]
    mean_staff = float(np.exp(staff["mean_log"] + staff["sigma_log"] ** 2 / 2))
    district_codes = [d.code for d in parameters.districts]
    for d_index, district in enumerate(parameters.districts):
        workers = rng.permutation(np.flatnonzero(working & (person_district == d_index)))
        for site in raw["industrial_sites"]:
            if site["district"] != district.code:
                continue
            size = min(len(workers), round(site["staff"] * scale))
            index = workplaces.add(
                name=site["name"],
                kind=WorkplaceKind.INDUSTRIAL,
                industry=site["industry"],
                community=_community_in(rng, community_district, d_index),
                at=_point(rng, parameters, d_index),
            )
            people.workplace[workers[:size]] = index
            workers = workers[size:]
        if len(workers) == 0:
            continue
        count = max(1, round(len(workers) / mean_staff))
        first = len(workplaces)
        industry_of = rng.choice(len(industries), count, p=shares / shares.sum())
        for k in range(count):
            industry = industries[int(industry_of[k])]
            brand = "".join(rng.choice(list(names.BRAND_CHARACTERS), 2))
            prefix = "株洲" if district_codes[d_index] < "430212" else district.name[:2]
            workplaces.add(
                name=f"{prefix}{brand}{names.INDUSTRY_LABELS[industry]}",
                kind=INDUSTRY_KIND.get(industry, WorkplaceKind.ENTERPRISE),
                industry=industry,
                community=_community_in(rng, community_district, d_index),
                at=_point(rng, parameters, d_index),
            )
        weights = rng.lognormal(staff["mean_log"], staff["sigma_log"], count)
        people.workplace[workers] = first + rng.choice(
            count, len(workers), p=weights / weights.sum()
        )

    employed = people.workplace >= 0
    kinds = np.array([str(k) for k in workplaces.kind] + [""])
    at_hospital = kinds[people.workplace] == WorkplaceKind.HOSPITAL
    people.tags |= np.where(employed & at_hospital, int(PersonTag.MEDICAL_STAFF), 0)
    key = employed & (rng.random(len(people)) < raw["tags"]["key_worker_of_workers"])
    people.tags |= np.where(key, int(PersonTag.KEY_WORKER), 0)


def _add_schools(
    parameters: Parameters,
    rng: np.random.Generator,
    places: Places,
    people: People,
    person_district: IntArray,
    person_township: IntArray,
    workplaces: Sites,
) -> None:
    """Children go to a school of their stage in their own township (or district for senior
    high school), picked at random among that area's schools."""
    community_of_township: dict[int, list[int]] = {}
    for c, t in enumerate(places.community_township.tolist()):
        community_of_township.setdefault(t, []).append(c)
    for stage in parameters.raw["school_stages"].values():
        low, high = stage["ages"]
        in_stage = (people.age >= low) & (people.age <= high)
        by_township = stage["serves"] == "township"
        group_of = person_township if by_township else person_district
        n_groups = len(places.townships) if by_township else len(parameters.districts)
        for group in range(n_groups):
            pupils = np.flatnonzero(in_stage & (group_of == group))
            if len(pupils) == 0:
                continue
            count = -(-len(pupils) // stage["pupils_per_school"])
            if by_township:
                area_name = places.townships[group].name
                candidates = community_of_township[group]
                district = places.townships[group].district_index
            else:
                area_name = parameters.districts[group].name
                candidates = [
                    c for t, cs in community_of_township.items() for c in cs
                    if places.townships[t].district_index == group
                ]  # fmt: skip
                district = group
            first = len(workplaces)
            for k in range(count):
                number = f"第{k + 1}" if count > 1 else ""
                workplaces.add(
                    name=f"{area_name}{number}{stage['label']}",
                    kind=WorkplaceKind.SCHOOL,
                    industry="education",
                    community=int(rng.choice(candidates)),
                    at=_point(rng, parameters, district),
                )
            people.workplace[pupils] = first + rng.integers(0, count, len(pupils))


def _venues(
    parameters: Parameters,
    rng: np.random.Generator,
    community_district: IntArray,
    person_district: IntArray,
) -> Sites:
    venues = Sites()
    residents = np.bincount(person_district, minlength=len(parameters.districts))
    for kind, spec in parameters.raw["venues_per_10000"].items():
        for d_index, district in enumerate(parameters.districts):
            count = max(
                int(spec["minimum_per_district"]),
                round(spec["rate"] * int(residents[d_index]) / 10000),
            )
            for k in range(count):
                venues.add(
                    name=f"{district.name}{spec['label']}{k + 1}",
                    kind=VenueKind(kind),
                    industry=None,
                    community=_community_in(rng, community_district, d_index),
                    at=_point(rng, parameters, d_index),
                )
    return venues
