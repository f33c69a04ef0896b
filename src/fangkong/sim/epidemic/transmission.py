"""One day of transmission within groups, with who infected whom and where.

See ``model.py`` for the contact assumption. The infector of each new case is drawn afterwards:
first the layer, in proportion to that layer's share of the person's hazard, then an infectious
member of the person's group in that layer, in proportion to infectiousness. This is the "true
contact" the drill report compares contact tracing with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fangkong.sim.epidemic.enums import Layer
from fangkong.sim.epidemic.parameters import Parameters

IntArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GroupLayer:
    """Group membership in one layer. ``group[i]`` is ``count`` for people in no group, so that
    per-group arrays have a last, always-empty slot and need no masking."""

    group: IntArray
    count: int
    sizes: NDArray[np.int64]

    @classmethod
    def of(cls, group: IntArray, count: int | None = None) -> GroupLayer:
        """From per-person ids (−1 for none); ``count`` defaults to the largest id + 1."""
        if count is None:
            count = int(group.max()) + 1 if group.shape[0] else 0
        mapped = np.where(group < 0, count, group).astype(np.int32)
        return cls(group=mapped, count=count, sizes=_sizes(mapped, count, None))


def _sizes(group: IntArray, count: int, present: NDArray[np.bool_] | None) -> NDArray[np.int64]:
    members = group if present is None else group[present]
    sizes = np.bincount(members, minlength=count + 1)
    sizes[count] = 0
    return sizes


@dataclass(frozen=True)
class _Exposure:
    hazard: FloatArray
    sources: IntArray
    weights: FloatArray
    source_groups: IntArray


def infect_within_groups(
    *,
    rng: np.random.Generator,
    parameters: Parameters,
    layers: list[tuple[Layer, GroupLayer, NDArray[np.bool_] | None]],
    infectious: IntArray,
    weights: FloatArray,
    susceptible: IntArray,
    relative_susceptibility: FloatArray,
) -> tuple[IntArray, IntArray, NDArray[np.int8]]:
    """Draw today's infections among ``susceptible``.

    ``layers`` lists (layer, groups, presence) in ``Layer`` order; presence ``None`` means
    everyone takes part. ``weights`` is the infectiousness of each of ``infectious``. Returns
    (newly infected, their infectors, index of the layer in ``layers``), sorted by person.
    """
    hazard = np.zeros(susceptible.shape[0])
    exposures: list[_Exposure | None] = []
    for layer, groups, present in layers:
        settings = parameters.layers[layer]
        if present is None:
            sources, source_weights, sizes = infectious, weights, groups.sizes
        else:
            keep = present[infectious]
            sources, source_weights = infectious[keep], weights[keep]
            sizes = _sizes(groups.group, groups.count, present)
        if sources.shape[0] == 0 or settings.relative_beta == 0 or settings.contacts == 0:
            exposures.append(None)
            continue
        source_groups = groups.group[sources]
        pressure = np.bincount(source_groups, weights=source_weights, minlength=groups.count + 1)
        pressure[groups.count] = 0
        others = np.maximum(sizes - 1, 1)
        rate = (
            parameters.beta
            * settings.relative_beta
            * np.minimum(settings.contacts, others)
            / others
            * pressure
        )
        layer_hazard = rate[groups.group[susceptible]]
        if present is not None:
            layer_hazard *= present[susceptible]
        hazard += layer_hazard
        exposures.append(_Exposure(layer_hazard, sources, source_weights, source_groups))

    at_risk = np.flatnonzero(hazard > 0)
    probability = -np.expm1(-hazard[at_risk] * relative_susceptibility[susceptible[at_risk]])
    hit = at_risk[rng.random(at_risk.shape[0]) < probability]
    infected = susceptible[hit].astype(np.int32)
    infectors = np.full(hit.shape[0], -1, np.int32)
    if hit.shape[0] == 0:
        return infected, infectors, np.zeros(0, np.int8)

    shares = np.stack(
        [np.zeros(hit.shape[0]) if e is None else e.hazard[hit] for e in exposures]
    ).cumsum(axis=0)
    draw = rng.random(hit.shape[0]) * shares[-1]
    layer_index = np.argmax(shares > draw, axis=0).astype(np.int8)
    for index, exposure in enumerate(exposures):
        chosen = np.flatnonzero(layer_index == index)
        if exposure is None or chosen.shape[0] == 0:
            continue
        groups = layers[index][1]
        infectors[chosen] = _pick_sources(
            rng, exposure, groups.group[infected[chosen]].astype(np.int32)
        )
    return infected, infectors, layer_index


def _pick_sources(rng: np.random.Generator, exposure: _Exposure, groups: IntArray) -> IntArray:
    """One infectious member of each of ``groups``, in proportion to infectiousness."""
    order = np.argsort(exposure.source_groups, kind="stable")
    sorted_groups = exposure.source_groups[order]
    cumulative = np.cumsum(exposure.weights[order])
    first = np.searchsorted(sorted_groups, groups, side="left")
    last = np.searchsorted(sorted_groups, groups, side="right") - 1
    base = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
    target = base + rng.random(groups.shape[0]) * (cumulative[last] - base)
    position = np.clip(np.searchsorted(cumulative, target, side="right"), first, last)
    picked: IntArray = exposure.sources[order][position]
    return picked
