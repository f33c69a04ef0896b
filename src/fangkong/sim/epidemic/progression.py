"""Natural history of one infection: drawn once at infection, then read off by day.

At infection every date of the course is drawn (as Covasim does): when the person becomes
infectious, develops symptoms, becomes severe or critical, and recovers or dies. The state on any
day is then a comparison of that day with the dates, so a whole population advances with a few
vectorised comparisons and no per-person loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fangkong.sim.epidemic.enums import State
from fangkong.sim.epidemic.parameters import Duration, Parameters

NEVER = np.int32(2**30)
"""Date of an event that does not happen in a person's course."""

IntArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]


def lognormal_days(rng: np.random.Generator, duration: Duration, size: int) -> IntArray:
    """Whole days drawn from a lognormal with the given mean and sd (days), rounded."""
    mean, sd = duration
    sigma2 = np.log1p((sd / mean) ** 2)
    mu = np.log(mean) - sigma2 / 2
    return np.rint(rng.lognormal(mu, np.sqrt(sigma2), size)).astype(np.int32)


@dataclass(frozen=True)
class Prognoses:
    """Per-person probabilities, conditional on reaching the previous stage.

    Built from the unconditional by-age tables (P(severe) / P(symptomatic), and so on) times
    the preset's relative factors, capped at 1.
    """

    relative_susceptibility: FloatArray
    symptomatic: FloatArray
    severe_given_symptomatic: FloatArray
    critical_given_severe: FloatArray
    death_given_critical: FloatArray

    @classmethod
    def for_ages(cls, parameters: Parameters, ages: NDArray[np.int16]) -> Prognoses:
        band = np.digitize(ages, parameters.age_band_lower_bounds) - 1
        symptomatic = np.asarray(parameters.symptomatic_probability_by_age)
        severe = np.asarray(parameters.severe_probability_by_age)
        critical = np.asarray(parameters.critical_probability_by_age)
        death = np.asarray(parameters.death_probability_by_age)

        def per_person(table: FloatArray, factor: float) -> FloatArray:
            return np.minimum(table * factor, 1.0)[band]

        return cls(
            relative_susceptibility=np.asarray(parameters.relative_susceptibility_by_age)[band],
            symptomatic=per_person(symptomatic, parameters.relative_symptomatic_probability),
            severe_given_symptomatic=per_person(
                severe / symptomatic, parameters.relative_severe_probability
            ),
            critical_given_severe=per_person(critical / severe, 1.0),
            death_given_critical=per_person(
                death / critical, parameters.relative_death_probability
            ),
        )


class Courses:
    """The dates of every person's course (``NEVER`` where an event does not happen)."""

    def __init__(self, size: int) -> None:
        def never() -> IntArray:
            return np.full(size, NEVER, np.int32)

        self.exposed = never()
        self.infectious = never()
        self.peak = never()
        self.symptomatic = never()
        self.severe = never()
        self.critical = never()
        self.end = never()
        self.dies = np.zeros(size, bool)
        self.high_load_until = np.zeros(size, np.float64)

    def draw(
        self,
        *,
        rng: np.random.Generator,
        parameters: Parameters,
        prognoses: Prognoses,
        persons: IntArray,
        day: int,
    ) -> None:
        """Draw the whole course of ``persons`` infected on ``day``.

        The draws happen in a fixed order whatever the outcome, so a run is reproducible.
        """
        n = persons.shape[0]
        p = parameters
        latent = lognormal_days(rng, p.exposed_to_infectious, n)
        to_symptoms = lognormal_days(rng, p.infectious_to_symptomatic, n)
        to_severe = lognormal_days(rng, p.symptomatic_to_severe, n)
        to_critical = lognormal_days(rng, p.severe_to_critical, n)
        asymptomatic_length = lognormal_days(rng, p.asymptomatic_to_recovered, n)
        mild_length = lognormal_days(rng, p.mild_to_recovered, n)
        severe_length = lognormal_days(rng, p.severe_to_recovered, n)
        critical_length = lognormal_days(rng, p.critical_to_recovered, n)
        to_death = lognormal_days(rng, p.critical_to_dead, n)
        draws = rng.random((4, n))

        is_symptomatic = draws[0] < prognoses.symptomatic[persons]
        is_severe = is_symptomatic & (draws[1] < prognoses.severe_given_symptomatic[persons])
        is_critical = is_severe & (draws[2] < prognoses.critical_given_severe[persons])
        dies = is_critical & (draws[3] < prognoses.death_given_critical[persons])

        infectious = day + latent
        symptomatic = infectious + to_symptoms
        severe = symptomatic + to_severe
        critical = severe + to_critical
        # The last stage reached decides when the course ends (recovery or death).
        end = infectious + asymptomatic_length
        end = np.where(is_symptomatic, symptomatic + mild_length, end)
        end = np.where(is_severe, severe + severe_length, end)
        end = np.where(is_critical, critical + critical_length, end)
        end = np.where(dies, critical + to_death, end)

        self.exposed[persons] = day
        self.infectious[persons] = infectious
        self.peak[persons] = symptomatic
        self.symptomatic[persons] = np.where(is_symptomatic, symptomatic, NEVER)
        self.severe[persons] = np.where(is_severe, severe, NEVER)
        self.critical[persons] = np.where(is_critical, critical, NEVER)
        self.end[persons] = end
        self.dies[persons] = dies
        # Front-loaded infectiousness: high for the first part of the infectious period.
        high_days = np.minimum(
            p.high_load_fraction_of_infectious_period * (end - infectious), p.high_load_cap
        )
        self.high_load_until[persons] = infectious + high_days

    def states_on(self, day: int, persons: IntArray) -> NDArray[np.int8]:
        """The state of (infected) ``persons`` on ``day``: later events override earlier ones."""
        states = np.full(persons.shape[0], State.EXPOSED, np.int8)
        asymptomatic = self.symptomatic[persons] == NEVER
        infectious = day >= self.infectious[persons]
        states[infectious & asymptomatic] = State.ASYMPTOMATIC
        states[infectious & ~asymptomatic] = State.PRESYMPTOMATIC
        states[day >= self.symptomatic[persons]] = State.SYMPTOMATIC
        states[day >= self.severe[persons]] = State.SEVERE
        states[day >= self.critical[persons]] = State.CRITICAL
        ended = day >= self.end[persons]
        dies = self.dies[persons]
        states[ended & dies] = State.DEAD
        states[ended & ~dies] = State.RECOVERED
        return states

    def viral_load_log10(self, parameters: Parameters, day: int) -> NDArray[np.float32]:
        """Viral-load proxy (log10 copies/ml) of everyone on ``day``; 0 when none.

        Rises linearly from ``viral_load_onset`` the day before the infectious period to
        ``viral_load_peak`` at symptom onset (or when it would have been, if asymptomatic),
        then falls by ``viral_load_decline`` a day. Testing outside the model turns this into a
        PCR result (sensitivity, limit of detection); the dead have none.
        """
        p = parameters
        start = self.infectious.astype(np.float64) - 1
        peak = self.peak.astype(np.float64)
        rise = p.viral_load_onset + (p.viral_load_peak - p.viral_load_onset) * (day - start) / (
            peak - start
        )
        fall = p.viral_load_peak - p.viral_load_decline * (day - peak)
        load = np.where(day <= peak, rise, fall)
        shedding = (day >= start) & (self.exposed != NEVER) & ~(self.dies & (day >= self.end))
        return np.where(shedding, np.maximum(load, 0.0), 0.0).astype(np.float32)
