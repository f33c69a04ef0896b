"""Epidemic model: validation against Covasim and speed side by side with it.

Validation. Covasim 4.0.1 (Kerr et al. 2021) builds its "hybrid" population; our model runs on
the same people: households are the connected components of Covasim's household layer (complete
cliques in both), the school layer is everyone aged 6-21 and the work layer everyone aged 22-64
(Covasim's random-network pools), the community layer is everyone; each layer's contacts per day
is the mean degree of Covasim's network and its relative beta is Covasim's. Disease parameters
are the ``wild_type`` preset, which holds Covasim's defaults. Building and venue layers are off.
With no interventions, both models run from 20 seeded infections and we compare the growth
rate, doubling time and final attack rate (tolerances in TOLERANCES, reasons in docs/drills.md).

Speed. Agent-days per second for 1,000,000 agents over 60 days: our model on
``Population.synthetic`` with every layer on, and Covasim's hybrid population, in this process.

``FANGKONG_BENCH_EPIDEMIC_QUICK=1`` runs a small version (for trying the script).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from fangkong.sim.epidemic.enums import Layer
from fangkong.sim.epidemic.model import Model
from fangkong.sim.epidemic.parameters import LayerParameters, Parameters, load
from fangkong.sim.epidemic.population import NO_PLACE, Population

QUICK = os.environ.get("FANGKONG_BENCH_EPIDEMIC_QUICK") == "1"
VALIDATION_SIZE = 20_000 if QUICK else 100_000
VALIDATION_DAYS = 200
VALIDATION_SEEDS = (1, 2) if QUICK else (1, 2, 3)
SPEED_SIZE = 100_000 if QUICK else 1_000_000
SPEED_DAYS = 60
SEEDED = 20
GROWTH_WINDOW = (0.002, 0.05)
"""The exponential phase: days when cumulative infections are within these shares of N."""
MATCHED = "ours, Covasim's people"
TOLERANCES = {"growth rate": 0.15, "doubling time": 0.15, "attack rate": 0.05}
"""Relative for growth rate and doubling time; absolute (share of N) for the attack rate."""


@dataclass(frozen=True)
class Outcome:
    growth_rate: float
    doubling_time: float
    attack_rate: float


def outcome(new_infections: np.ndarray, size: int) -> Outcome:
    """Growth rate: least-squares slope of ln(7-day mean of new infections) over the days when
    cumulative infections lie in GROWTH_WINDOW; doubling time ln 2 / rate; final attack rate."""
    cumulative = SEEDED + np.cumsum(new_infections)
    smooth = np.convolve(new_infections, np.ones(7) / 7, mode="same")
    low, high = GROWTH_WINDOW
    days = np.flatnonzero((cumulative >= low * size) & (cumulative <= high * size))
    days = days[smooth[days] > 0]
    rate = float(np.polyfit(days, np.log(smooth[days]), 1)[0])
    return Outcome(rate, math.log(2) / rate, float(cumulative[-1]) / size)


def covasim_sim(size: int, days: int, seed: int, *, use_waning: bool = True):  # type: ignore[no-untyped-def]
    """An initialised Covasim sim with its defaults; ``use_waning=False`` gives lifelong
    immunity, as in our model (no reinfections), for the validation."""
    import covasim as cv

    sim = cv.Sim(
        pop_size=size,
        pop_type="hybrid",
        pop_infected=SEEDED,
        n_days=days,
        rand_seed=seed,
        use_waning=use_waning,
        verbose=0,
    )
    sim.init()
    return sim


def matched(sim) -> tuple[Population, Parameters]:  # type: ignore[no-untyped-def]
    """Our population and parameters matched to an initialised Covasim sim (see module doc)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    size = len(sim.people)
    age = np.asarray(sim.people.age)
    edges = sim.networks["h"].edges
    links = coo_matrix(
        (np.ones(len(edges.p1)), (np.asarray(edges.p1), np.asarray(edges.p2))),
        shape=(size, size),
    )
    _, household = connected_components(links, directed=False)
    household = household.astype(np.int32)
    school = np.where((age >= 6) & (age < 22), 0, NO_PLACE).astype(np.int32)
    workplace = np.where((age >= 22) & (age < 65), 0, NO_PLACE).astype(np.int32)
    pools = {"s": school >= 0, "w": workplace >= 0, "c": np.ones(size, bool)}
    degree = {key: 2 * len(sim.networks[key].edges.p1) / pools[key].sum() for key in pools}
    base = load("wild_type")
    layers = {
        Layer.BUILDING: LayerParameters(relative_beta=0.0, contacts=0),
        Layer.VENUE: LayerParameters(relative_beta=0.0, contacts=0),
        Layer.SCHOOL: LayerParameters(relative_beta=0.6, contacts=degree["s"]),
        Layer.WORKPLACE: LayerParameters(relative_beta=0.6, contacts=degree["w"]),
        Layer.COMMUNITY: LayerParameters(relative_beta=0.3, contacts=degree["c"]),
    }
    population = Population(
        age=np.floor(age).astype(np.int16),
        sex=np.asarray(sim.people.female).astype(np.int8) ^ 1,
        household=household,
        building=household,
        compound=household,
        community=np.zeros(size, np.int32),
        district=np.zeros(size, np.int16),
        workplace=workplace,
        school=school,
    )
    return population, base.with_changes(layers=layers, venue_visit_probability=0.0)


def validate() -> list[tuple[str, Outcome, Outcome]]:
    rows = []
    for seed in VALIDATION_SEEDS:
        sim = covasim_sim(VALIDATION_SIZE, VALIDATION_DAYS, seed, use_waning=False)
        population, parameters = matched(sim)
        sim.run()
        theirs = outcome(np.asarray(sim.results["new_infections"])[1:], VALIDATION_SIZE)
        model = Model(
            population=population, parameters=parameters, seed=seed, initial_infections=SEEDED
        )
        ours = outcome(
            np.array([day.new_infections for day in model.run(VALIDATION_DAYS)]), VALIDATION_SIZE
        )
        rows.append((f"seed {seed}", ours, theirs))
        print(
            f"seed {seed}: growth {ours.growth_rate:.4f} vs {theirs.growth_rate:.4f}/day, "
            f"doubling {ours.doubling_time:.2f} vs {theirs.doubling_time:.2f} d, "
            f"attack {ours.attack_rate:.3f} vs {theirs.attack_rate:.3f}",
            flush=True,
        )
    return rows


def agent_days_per_second(model: Model, size: int) -> tuple[float, int]:
    started = time.perf_counter()
    days = model.run(SPEED_DAYS)
    elapsed = time.perf_counter() - started
    return size * SPEED_DAYS / elapsed, sum(d.new_infections for d in days) + SEEDED


def speed() -> dict[str, float]:
    """Agent-days per second of our model on the synthetic city and on Covasim's own people
    (same epidemic size as Covasim's run), and of Covasim with its defaults."""
    figures = {}
    started = time.perf_counter()
    population = Population.synthetic(SPEED_SIZE, 1)
    model = Model(
        population=population, parameters=load("wild_type"), seed=1, initial_infections=SEEDED
    )
    setup = time.perf_counter() - started
    figures["ours, synthetic city"], infections = agent_days_per_second(model, SPEED_SIZE)
    print(
        f"ours, synthetic city: {figures['ours, synthetic city'] / 1e6:.2f} M agent-days/s, "
        f"set-up {setup:.1f} s, {infections:,} infections",
        flush=True,
    )

    covasim_sim(2_000, 5, 1).run()  # compile Covasim's numba kernels outside the timing
    started = time.perf_counter()
    sim = covasim_sim(SPEED_SIZE, SPEED_DAYS, 1)
    setup = time.perf_counter() - started
    population, parameters = matched(sim)
    model = Model(population=population, parameters=parameters, seed=1, initial_infections=SEEDED)
    figures[MATCHED], infections = agent_days_per_second(model, SPEED_SIZE)
    print(
        f"ours, Covasim's people: {figures[MATCHED] / 1e6:.2f} M agent-days/s, "
        f"{infections:,} infections",
        flush=True,
    )
    started = time.perf_counter()
    sim.run()
    figures["covasim"] = SPEED_SIZE * SPEED_DAYS / (time.perf_counter() - started)
    print(
        f"covasim: {figures['covasim'] / 1e6:.2f} M agent-days/s, set-up {setup:.1f} s, "
        f"{int(sim.results['cum_infections'][-1]):,} infections",
        flush=True,
    )
    return figures


def presets() -> None:
    """For the record (no Covasim counterpart): each preset on the synthetic city."""
    population = Population.synthetic(VALIDATION_SIZE, 1)
    for preset in ("wild_type", "omicron_ba5"):
        model = Model(
            population=population, parameters=load(preset), seed=1, initial_infections=SEEDED
        )
        result = outcome(
            np.array([day.new_infections for day in model.run(VALIDATION_DAYS)]), VALIDATION_SIZE
        )
        print(
            f"{preset} on the synthetic city: growth {result.growth_rate:.4f}/day, "
            f"doubling {result.doubling_time:.2f} d, attack {result.attack_rate:.3f}",
            flush=True,
        )


def main() -> int:
    print(
        f"validation: {VALIDATION_SIZE:,} agents, {VALIDATION_DAYS} days, seeds {VALIDATION_SEEDS}"
    )
    rows = validate()
    failures = 0
    for name, pick, relative in (
        ("growth rate", lambda o: o.growth_rate, True),
        ("doubling time", lambda o: o.doubling_time, True),
        ("attack rate", lambda o: o.attack_rate, False),
    ):
        ours = float(np.mean([pick(r[1]) for r in rows]))
        theirs = float(np.mean([pick(r[2]) for r in rows]))
        difference = abs(ours - theirs) / theirs if relative else abs(ours - theirs)
        verdict = "ok" if difference <= TOLERANCES[name] else "OUT OF TOLERANCE"
        failures += verdict != "ok"
        print(
            f"{name}: ours {ours:.4f}, covasim {theirs:.4f}, difference {difference:.3f} "
            f"(tolerance {TOLERANCES[name]}) {verdict}"
        )
    presets()
    print(f"speed: {SPEED_SIZE:,} agents x {SPEED_DAYS} days")
    figures = speed()
    for name in ("ours, synthetic city", MATCHED):
        print(f"speed ratio, {name} / covasim: {figures[name] / figures['covasim']:.1f}x")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
