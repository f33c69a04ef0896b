"""The parameters of the synthetic city, read from ``parameters.yaml`` (units and sources there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

PARAMETERS_FILE = "parameters.yaml"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    share_percent: float
    is_urban: bool
    latitude: tuple[float, float]
    longitude: tuple[float, float]


@dataclass(frozen=True)
class AgeBand:
    lower: int
    upper: int
    percent: float


@dataclass(frozen=True)
class Parameters:
    """The whole parameter file, typed. ``raw`` keeps the parsed YAML for the rarer keys."""

    id: str
    version: int
    reference_date: date
    city_code: str
    census_population: int
    districts: tuple[District, ...]
    age_bands: tuple[AgeBand, ...]
    household_size_percent: dict[int, float]
    sex_ratio: float
    raw: dict[str, Any]

    def district(self, code: str) -> District:
        return next(d for d in self.districts if d.code == code)

    @property
    def mean_household_size(self) -> float:
        total = sum(self.household_size_percent.values())
        return sum(size * share for size, share in self.household_size_percent.items()) / total


def parse(document: dict[str, Any]) -> Parameters:
    """Build :class:`Parameters` from a parsed YAML document; raises ``ValueError`` when the
    shares do not add up (a typo in a percentage would silently skew the whole city)."""
    districts = tuple(
        District(
            code=str(code),
            name=str(spec["name"]),
            share_percent=float(spec["share_percent"]),
            is_urban=bool(spec["urban"]),
            latitude=(float(spec["lat"][0]), float(spec["lat"][1])),
            longitude=(float(spec["lon"][0]), float(spec["lon"][1])),
        )
        for code, spec in document["districts"].items()
    )
    bands = tuple(
        AgeBand(int(lo), int(hi), float(pct)) for lo, hi, pct in document["age_pyramid_percent"]
    )
    sizes = {int(size): float(pct) for size, pct in document["household_size_percent"].items()}
    for label, total in (
        ("district shares", sum(d.share_percent for d in districts)),
        ("age pyramid", sum(b.percent for b in bands)),
        ("household sizes", sum(sizes.values())),
    ):
        if abs(total - 100.0) > 0.05:
            raise ValueError(f"{label} add up to {total:.2f} %, not 100 %")
    return Parameters(
        id=str(document["id"]),
        version=int(document["version"]),
        reference_date=date.fromisoformat(str(document["reference_date"])),
        city_code=str(document["city"]["code"]),
        census_population=int(document["city"]["census_population"]),
        districts=districts,
        age_bands=bands,
        household_size_percent=sizes,
        sex_ratio=float(document["sex_ratio_males_per_100_females"]),
        raw=document,
    )


@lru_cache
def load() -> Parameters:
    text = (resources.files("fangkong.sim.city") / PARAMETERS_FILE).read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))
