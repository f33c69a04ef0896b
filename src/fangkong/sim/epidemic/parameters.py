"""Load the model's parameters from ``parameters.yaml`` (every value with a unit and a source).

``load(preset)`` returns a frozen :class:`Parameters`; ``with_changes`` makes variants for
experiments and for the validation bench without editing the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from fangkong.core.errors import FangkongError
from fangkong.sim.epidemic.enums import Layer
from fangkong.sim.epidemic.errors import EpidemicErrorCode

PARAMETERS_FILE = Path(__file__).with_name("parameters.yaml")

Duration = tuple[float, float]
"""A lognormal duration: (mean, standard deviation) in days."""


@dataclass(frozen=True)
class LayerParameters:
    relative_beta: float
    contacts: float


@dataclass(frozen=True)
class Parameters:
    """One preset, flattened to plain values (units and sources stay in the YAML file)."""

    preset: str
    description: str
    beta: float
    exposed_to_infectious: Duration
    infectious_to_symptomatic: Duration
    symptomatic_to_severe: Duration
    severe_to_critical: Duration
    asymptomatic_to_recovered: Duration
    mild_to_recovered: Duration
    severe_to_recovered: Duration
    critical_to_recovered: Duration
    critical_to_dead: Duration
    age_band_lower_bounds: tuple[int, ...]
    relative_susceptibility_by_age: tuple[float, ...]
    symptomatic_probability_by_age: tuple[float, ...]
    severe_probability_by_age: tuple[float, ...]
    critical_probability_by_age: tuple[float, ...]
    death_probability_by_age: tuple[float, ...]
    relative_symptomatic_probability: float
    relative_severe_probability: float
    relative_death_probability: float
    asymptomatic_relative_infectiousness: float
    transmissibility_dispersion: float
    high_load_fraction_of_infectious_period: float
    high_load_cap: float
    high_load_ratio: float
    viral_load_peak: float
    viral_load_onset: float
    viral_load_decline: float
    layers: Mapping[Layer, LayerParameters]
    venue_visit_probability: float
    venue_opening_hours: tuple[int, int]

    def with_changes(self, **changes: Any) -> Parameters:
        """A copy with some values replaced (``layers`` replaced per layer if given a mapping)."""
        if "layers" in changes:
            changes["layers"] = {**self.layers, **changes["layers"]}
        return dataclasses.replace(self, **changes)


@cache
def raw() -> dict[str, Any]:
    """The YAML document as loaded (cached; treat as read-only)."""
    with PARAMETERS_FILE.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def iter_parameters(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (dotted path, entry) for every leaf of the document; an entry has a ``value``.

    A leaf that is not a ``{value, unit, source}`` mapping is yielded too, so a checker sees it.
    """
    if isinstance(node, Mapping) and "value" not in node:
        for key, child in node.items():
            yield from iter_parameters(child, f"{path}.{key}" if path else str(key))
    else:
        yield path, node if isinstance(node, Mapping) else {"value": node}


def _resolved(preset: str) -> dict[str, Any]:
    presets: dict[str, Any] = raw()["presets"]
    if preset not in presets:
        raise FangkongError(
            EpidemicErrorCode.PRESET_UNKNOWN,
            f"No parameter preset {preset!r}; known: {', '.join(sorted(presets))}",
            field="preset",
        )
    entries = dict(presets[preset])
    parent = entries.pop("inherits", None)
    if parent is None:
        return entries
    merged = _resolved(parent["value"])
    merged.update(entries)
    return merged


def population_value(name: str) -> Any:
    """One value of the ``population`` section (synthetic population figures)."""
    return raw()["population"][name]["value"]


@cache
def load(preset: str = "wild_type") -> Parameters:
    """The named preset (``wild_type`` or ``omicron_ba5``); unknown names raise PRESET_UNKNOWN."""
    entries = _resolved(preset)
    values = {key: entry["value"] for key, entry in entries.items() if key != "layers"}
    layers = {
        Layer(name): LayerParameters(
            relative_beta=float(layer["relative_beta"]["value"]),
            contacts=float(layer["contacts"]["value"]),
        )
        for name, layer in entries["layers"].items()
    }
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return Parameters(preset=preset, layers=layers, **values)
