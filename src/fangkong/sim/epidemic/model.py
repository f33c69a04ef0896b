"""The agent-based model: one call to :meth:`Model.step` simulates one day.

Contacts are drawn within groups rather than stored as edges: each person meets ``contacts``
people a day among the members of each of their groups (household, building, school or
workplace, the venue and hour they visited, community) who are present that day, or all of them
if the group is smaller. A susceptible person's hazard from a group is therefore

    relative_susceptibility × beta × relative_beta × min(k, n − 1) / (n − 1) × Σ infectiousness

over the infectious members present, and the day's infection probability is 1 − exp(−hazard),
summed over layers. That makes a day O(people) with a handful of ``bincount`` calls, which is
what lets a million agents run faster than an edge-list model (bench/bench_epidemic.py).

Everything random comes from one ``numpy.random.Generator`` consumed in a fixed order, so a run
is identical for the same population, parameters, seed and interventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fangkong.core.errors import FangkongError
from fangkong.sim.epidemic.enums import NO_LAYER, SEEDED, Layer, State
from fangkong.sim.epidemic.errors import EpidemicErrorCode
from fangkong.sim.epidemic.parameters import Parameters
from fangkong.sim.epidemic.population import Population
from fangkong.sim.epidemic.progression import Courses, Prognoses
from fangkong.sim.epidemic.transmission import GroupLayer, infect_within_groups

IntArray = NDArray[np.int32]
EMPTY = np.zeros(0, np.int32)


@dataclass(frozen=True)
class Interventions:
    """What the drill imposes on one day; ids are population indices.

    Isolation at home removes a person from every layer but the household; centralised isolation
    removes them from the household too. A locked-down building, compound or community keeps its
    residents at home: no school, workplace, venue or community contacts (building contacts stay).
    """

    isolated_at_home: IntArray = field(default_factory=lambda: EMPTY)
    isolated_centrally: IntArray = field(default_factory=lambda: EMPTY)
    locked_buildings: IntArray = field(default_factory=lambda: EMPTY)
    locked_compounds: IntArray = field(default_factory=lambda: EMPTY)
    locked_communities: IntArray = field(default_factory=lambda: EMPTY)

    @property
    def is_empty(self) -> bool:
        return not any(
            ids.shape[0]
            for ids in (
                self.isolated_at_home,
                self.isolated_centrally,
                self.locked_buildings,
                self.locked_compounds,
                self.locked_communities,
            )
        )


@dataclass(frozen=True)
class VenueVisits:
    """The day's venue visits, one row per visit: who, which venue, which hour (0-23)."""

    person: IntArray
    venue: IntArray
    hour: NDArray[np.int8]


@dataclass(frozen=True)
class Day:
    """Ground truth of one simulated day.

    ``counts[s]`` is the number of people in ``State(s)`` at the end of the day (they sum to the
    population). ``infected`` are today's new infections, with their ``infectors`` (−1 if
    seeded) and the ``layers`` index into ``list(Layer)`` (``SEEDED`` if seeded).
    """

    day: int
    counts: NDArray[np.int64]
    infected: IntArray
    infectors: IntArray
    layers: NDArray[np.int8]
    new_symptomatic: int
    new_severe: int
    new_critical: int
    new_dead: int
    new_recovered: int
    venue_visits: VenueVisits

    @property
    def new_infections(self) -> int:
        return int(self.infected.shape[0])


class Model:
    """A running epidemic on ``population``; ``initial_infections`` random people are exposed
    on day 0. Read ``state`` (``State`` codes per person) and ``viral_load_log10()`` after a
    step for the day just simulated; never modify them.
    """

    def __init__(
        self,
        *,
        population: Population,
        parameters: Parameters,
        seed: int,
        initial_infections: int,
    ) -> None:
        population.validate()
        n = population.size
        if not 0 <= initial_infections <= n:
            raise FangkongError(
                EpidemicErrorCode.SEED_INFECTIONS_INVALID,
                f"initial_infections must be between 0 and {n}",
                field="initial_infections",
            )
        self.population = population
        self.parameters = parameters
        self.rng = np.random.default_rng(seed)
        self.day = 0
        self.state = np.zeros(n, np.int8)
        self.infection_layer = np.full(n, NO_LAYER, np.int8)
        self.infector = np.full(n, -1, np.int32)
        self.prognoses = Prognoses.for_ages(parameters, population.age)
        self.courses = Courses(n)
        k = parameters.transmissibility_dispersion
        self.relative_transmissibility = self.rng.gamma(k, 1 / k, n)
        # Mean-preserving two-level load (as Covasim): high, then low, averaging 1 over the course.
        f, ratio = parameters.high_load_fraction_of_infectious_period, parameters.high_load_ratio
        self._load_low = 1 / (1 + f * (ratio - 1))
        self._load_high = ratio * self._load_low
        self._active = EMPTY
        self._layers = {
            Layer.HOUSEHOLD: GroupLayer.of(population.household),
            Layer.BUILDING: GroupLayer.of(population.building),
            Layer.SCHOOL: GroupLayer.of(population.school),
            Layer.WORKPLACE: GroupLayer.of(population.workplace),
            Layer.COMMUNITY: GroupLayer.of(population.community),
        }
        order = np.argsort(population.venue_community, kind="stable")
        self._venues_by_community = order.astype(np.int32)
        communities = int(population.community.max()) + 1
        self._venue_count = np.bincount(population.venue_community, minlength=communities)
        self._venue_first = np.concatenate(([0], np.cumsum(self._venue_count)[:-1]))
        propensity = population.venue_propensity
        visit_probability = parameters.venue_visit_probability
        self._visit_probability = (
            np.full(n, visit_probability) if propensity is None else visit_probability * propensity
        ) * (self._venue_count[population.community] > 0)
        self.infect(self.rng.choice(n, initial_infections, replace=False).astype(np.int32))

    def infect(self, persons: IntArray) -> None:
        """Expose ``persons`` today (imported cases); those not susceptible are skipped.

        Raises SEED_INFECTIONS_INVALID, changing nothing, if an id is outside the population.
        """
        if persons.shape[0] and (persons.min() < 0 or persons.max() >= self.population.size):
            raise FangkongError(
                EpidemicErrorCode.SEED_INFECTIONS_INVALID,
                f"persons holds an id outside 0..{self.population.size - 1}",
                field="persons",
            )
        persons = np.unique(persons[self.state[persons] == State.SUSCEPTIBLE]).astype(np.int32)
        self._expose(persons)
        self.infection_layer[persons] = SEEDED

    def _expose(self, persons: IntArray) -> None:
        self.courses.draw(
            rng=self.rng,
            parameters=self.parameters,
            prognoses=self.prognoses,
            persons=persons,
            day=self.day,
        )
        self.state[persons] = State.EXPOSED
        self._active = np.concatenate((self._active, persons))

    def step(self, interventions: Interventions | None = None) -> Day:
        """Simulate the current day under ``interventions`` and move to the next day."""
        today = self.day
        n = self.population.size
        present = self._presence(interventions or Interventions())
        transitions = self._advance(today)
        visits = self._venue_visits(present.get(Layer.VENUE))
        venue_group = np.full(n, -1, np.int32)
        hours = self.parameters.venue_opening_hours
        slots = hours[1] - hours[0] + 1
        venue_group[visits.person] = visits.venue * slots + (visits.hour - hours[0])
        layers = {
            **self._layers,
            Layer.VENUE: GroupLayer.of(venue_group, self.population.venue_count * slots),
        }

        active_states = self.state[self._active]
        infectious = self._active[
            (active_states >= State.PRESYMPTOMATIC) & (active_states <= State.CRITICAL)
        ]
        weights = self.relative_transmissibility[infectious] * np.where(
            today < self.courses.high_load_until[infectious], self._load_high, self._load_low
        )
        asymptomatic = self.state[infectious] == State.ASYMPTOMATIC
        weights[asymptomatic] *= self.parameters.asymptomatic_relative_infectiousness
        susceptible = np.flatnonzero(self.state == State.SUSCEPTIBLE).astype(np.int32)
        infected, infectors, layer_index = infect_within_groups(
            rng=self.rng,
            parameters=self.parameters,
            layers=[(layer, layers[layer], present.get(layer)) for layer in Layer],
            infectious=infectious,
            weights=weights,
            susceptible=susceptible,
            relative_susceptibility=self.prognoses.relative_susceptibility,
        )
        self._expose(infected)
        self.infector[infected] = infectors
        self.infection_layer[infected] = layer_index
        self.day += 1
        return Day(
            day=today,
            counts=np.bincount(self.state, minlength=len(State)).astype(np.int64),
            infected=infected,
            infectors=infectors,
            layers=layer_index,
            venue_visits=visits,
            **transitions,
        )

    def run(self, days: int) -> list[Day]:
        """``days`` steps with no interventions (validation, baselines)."""
        return [self.step() for _ in range(days)]

    def viral_load_log10(self) -> NDArray[np.float32]:
        """Everyone's viral-load proxy on the day last simulated (0 for none)."""
        return self.courses.viral_load_log10(self.parameters, self.day - 1)

    def _advance(self, day: int) -> dict[str, int]:
        """Move the currently infected along their courses to ``day``; count today's events."""
        active = self._active
        c = self.courses
        states = c.states_on(day, active)
        self.state[active] = states
        ended = (states == State.RECOVERED) | (states == State.DEAD)
        self._active = active[~ended]
        return {
            "new_symptomatic": int(np.count_nonzero(c.symptomatic[active] == day)),
            "new_severe": int(np.count_nonzero(c.severe[active] == day)),
            "new_critical": int(np.count_nonzero(c.critical[active] == day)),
            "new_dead": int(np.count_nonzero(states == State.DEAD)),
            "new_recovered": int(np.count_nonzero(states == State.RECOVERED)),
        }

    def _presence(self, interventions: Interventions) -> dict[Layer, NDArray[np.bool_]]:
        """Who takes part in each layer today; a layer missing from the result means everyone."""
        if interventions.is_empty:
            return {}
        population = self.population
        n = population.size
        centrally = _mask(n, interventions.isolated_centrally, "isolated_centrally")
        isolated = centrally | _mask(n, interventions.isolated_at_home, "isolated_at_home")
        locked = (
            _mask(
                int(population.building.max()) + 1,
                interventions.locked_buildings,
                "locked_buildings",
            )[population.building]
            | _mask(
                int(population.compound.max()) + 1,
                interventions.locked_compounds,
                "locked_compounds",
            )[population.compound]
            | _mask(
                int(population.community.max()) + 1,
                interventions.locked_communities,
                "locked_communities",
            )[population.community]
        )
        out_and_about = ~(isolated | locked)
        return {
            Layer.HOUSEHOLD: ~centrally,
            Layer.BUILDING: ~isolated,
            Layer.SCHOOL: out_and_about,
            Layer.WORKPLACE: out_and_about,
            Layer.VENUE: out_and_about,
            Layer.COMMUNITY: out_and_about,
        }

    def _venue_visits(self, present: NDArray[np.bool_] | None) -> VenueVisits:
        """Draw today's visits: who goes out (by propensity), to which venue of their community,
        at which hour."""
        n = self.population.size
        goes = self.rng.random(n) < self._visit_probability
        if present is not None:
            goes &= present
        person = np.flatnonzero(goes).astype(np.int32)
        community = self.population.community[person]
        pick = (self.rng.random(person.shape[0]) * self._venue_count[community]).astype(np.int64)
        venue = self._venues_by_community[self._venue_first[community] + pick]
        first_hour, last_hour = self.parameters.venue_opening_hours
        hour = self.rng.integers(first_hour, last_hour + 1, person.shape[0]).astype(np.int8)
        return VenueVisits(person=person, venue=venue, hour=hour)


def _mask(size: int, ids: IntArray, name: str) -> NDArray[np.bool_]:
    """A boolean mask of ``size`` with ``ids`` set; ids outside the range are refused."""
    if ids.shape[0] and (ids.min() < 0 or ids.max() >= size):
        raise FangkongError(
            EpidemicErrorCode.INTERVENTION_ID_INVALID,
            f"{name} holds an id outside 0..{size - 1}",
            field=name,
        )
    mask = np.zeros(size, bool)
    mask[ids] = True
    return mask
