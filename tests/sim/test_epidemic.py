"""The epidemic model: reproducible, conserving, causal, and responsive to interventions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fangkong.core.errors import FangkongError
from fangkong.sim.epidemic import baseline
from fangkong.sim.epidemic.enums import SEEDED, Layer, State
from fangkong.sim.epidemic.errors import EpidemicErrorCode
from fangkong.sim.epidemic.model import Day, Interventions, Model
from fangkong.sim.epidemic.parameters import iter_parameters, load, raw
from fangkong.sim.epidemic.population import NO_PLACE, Population

SIZE = 3_000
DOCS = Path(__file__).resolve().parents[2] / "docs"
LAYERS = list(Layer)


@pytest.fixture(scope="module")
def city() -> Population:
    return Population.synthetic(SIZE, 11)


def model(
    city: Population, *, seed: int = 5, preset: str = "omicron_ba5", seeded: int = 10
) -> Model:
    return Model(population=city, parameters=load(preset), seed=seed, initial_infections=seeded)


def susceptible_at_end(days: list[Day]) -> int:
    return int(days[-1].counts[State.SUSCEPTIBLE])


def test_it_gives_identical_runs_for_the_same_seed(city: Population) -> None:
    first, second = model(city), model(city)
    for _ in range(25):
        a, b = first.step(), second.step()
        assert a.counts.tolist() == b.counts.tolist()
        assert a.infected.tolist() == b.infected.tolist()
        assert a.infectors.tolist() == b.infectors.tolist()
        assert a.venue_visits.venue.tolist() == b.venue_visits.venue.tolist()
    assert first.viral_load_log10().tolist() == second.viral_load_log10().tolist()


def test_it_gives_different_runs_for_different_seeds(city: Population) -> None:
    first = [d.new_infections for d in model(city, seed=1).run(25)]
    second = [d.new_infections for d in model(city, seed=2).run(25)]
    assert first != second


@pytest.mark.parametrize("preset", ["wild_type", "omicron_ba5"])
def test_it_keeps_every_person_in_exactly_one_state_every_day(
    city: Population, preset: str
) -> None:
    running = model(city, preset=preset)
    for day in running.run(40):
        assert int(day.counts.sum()) == SIZE
    assert np.bincount(running.state, minlength=len(State)).tolist() == day.counts.tolist()


def test_it_infects_nobody_without_an_infectious_contact(city: Population) -> None:
    days = model(city, seeded=0).run(30)
    assert [d.new_infections for d in days] == [0] * 30
    assert days[-1].counts[State.SUSCEPTIBLE] == SIZE


def test_it_counts_seeded_people_as_exposed_on_day_zero(city: Population) -> None:
    running = model(city, seeded=10)
    assert int(np.count_nonzero(running.state == State.EXPOSED)) == 10
    assert int(np.count_nonzero(running.infection_layer == SEEDED)) == 10


def test_it_names_an_infector_who_was_infectious_and_shared_the_layer(city: Population) -> None:
    running = model(city)
    groups = {
        Layer.HOUSEHOLD: city.household,
        Layer.BUILDING: city.building,
        Layer.SCHOOL: city.school,
        Layer.WORKPLACE: city.workplace,
        Layer.COMMUNITY: city.community,
    }
    checked = 0
    for _ in range(30):
        day = running.step()
        visits = day.venue_visits
        venue_of = dict(zip(visits.person.tolist(), visits.venue.tolist(), strict=True))
        for person, infector, index in zip(
            day.infected.tolist(), day.infectors.tolist(), day.layers.tolist(), strict=True
        ):
            # Nobody's state changes after the day's transmission, so this is their state then.
            assert State.PRESYMPTOMATIC <= running.state[infector] <= State.CRITICAL
            layer = LAYERS[index]
            if layer is Layer.VENUE:
                assert venue_of[person] == venue_of[infector]
            else:
                assert groups[layer][person] == groups[layer][infector] != NO_PLACE
            checked += 1
    assert checked > 100


def test_it_stops_all_spread_when_every_infected_person_is_isolated_centrally(
    city: Population,
) -> None:
    running = model(city)
    for _ in range(30):
        infected = np.flatnonzero(running.state != State.SUSCEPTIBLE).astype(np.int32)
        day = running.step(Interventions(isolated_centrally=infected))
        assert day.new_infections == 0


def test_it_keeps_spread_inside_households_under_home_isolation(city: Population) -> None:
    running = model(city)
    household_infections = 0
    for _ in range(30):
        infected = np.flatnonzero(running.state != State.SUSCEPTIBLE).astype(np.int32)
        day = running.step(Interventions(isolated_at_home=infected))
        assert set(day.layers.tolist()) <= {LAYERS.index(Layer.HOUSEHOLD)}
        household_infections += day.new_infections
    assert household_infections > 0


def test_it_keeps_spread_inside_homes_and_buildings_under_lockdown(city: Population) -> None:
    running = model(city)
    every_building = np.arange(int(city.building.max()) + 1, dtype=np.int32)
    layers = set()
    for _ in range(30):
        day = running.step(Interventions(locked_buildings=every_building))
        assert day.venue_visits.person.shape[0] == 0
        layers |= set(day.layers.tolist())
    assert layers == {LAYERS.index(Layer.HOUSEHOLD), LAYERS.index(Layer.BUILDING)}


@pytest.mark.parametrize(
    ("_case", "interventions"),
    [
        ("home isolation of symptomatic", "isolated_at_home"),
        ("central isolation of symptomatic", "isolated_centrally"),
        ("lockdown of every community", "locked_communities"),
        ("lockdown of every compound", "locked_compounds"),
    ],
)
def test_it_reduces_transmission_versus_none_on_the_same_seed(
    city: Population, _case: str, interventions: str
) -> None:
    free = model(city).run(40)
    controlled = model(city)
    days = []
    for _ in range(40):
        if interventions.startswith("isolated"):
            ids = np.flatnonzero(
                (controlled.state >= State.SYMPTOMATIC) & (controlled.state <= State.CRITICAL)
            )
        else:
            attribute = "community" if interventions == "locked_communities" else "compound"
            ids = np.unique(getattr(city, attribute))
        days.append(controlled.step(Interventions(**{interventions: ids.astype(np.int32)})))
    assert sum(d.new_infections for d in days) < sum(d.new_infections for d in free)
    assert susceptible_at_end(days) > susceptible_at_end(free)


def test_it_matches_the_regression_baseline() -> None:
    assert baseline.compute() == baseline.stored()


def test_it_has_a_unit_and_a_source_for_every_parameter() -> None:
    entries = list(iter_parameters(raw()))
    assert len(entries) > 60
    for path, entry in entries:
        assert set(entry) == {"value", "unit", "source"}, path
        assert isinstance(entry["unit"], str) and entry["unit"].strip(), path
        assert isinstance(entry["source"], str) and entry["source"].strip(), path


def test_it_makes_omicron_spread_faster_than_the_wild_type(city: Population) -> None:
    wild = model(city, preset="wild_type").run(30)
    omicron = model(city, preset="omicron_ba5").run(30)
    assert susceptible_at_end(omicron) < susceptible_at_end(wild)


def test_it_reports_a_viral_load_only_for_the_infected(city: Population) -> None:
    running = model(city)
    running.run(20)
    load = running.viral_load_log10()
    assert load[running.state == State.SUSCEPTIBLE].max() == 0.0
    infectious = (running.state >= State.PRESYMPTOMATIC) & (running.state <= State.CRITICAL)
    assert load[infectious].min() > 0.0


def test_it_sends_visitors_to_venues_of_their_community_in_opening_hours(
    city: Population,
) -> None:
    visits = model(city).step().venue_visits
    assert visits.person.shape[0] > 0
    assert (city.venue_community[visits.venue] == city.community[visits.person]).all()
    assert visits.hour.min() >= 8 and visits.hour.max() <= 21


def test_it_builds_a_synthetic_city_with_census_household_size_and_ages() -> None:
    city = Population.synthetic(50_000, 3)
    assert city.size == 50_000
    assert abs(city.size / (int(city.household.max()) + 1) - 2.6) < 0.05
    assert abs(float(np.mean(city.age <= 14)) - 0.1952) < 0.01
    assert abs(float(np.mean(city.age >= 65)) - 0.1481) < 0.01
    assert int(city.school[city.age < 3].max()) == NO_PLACE
    assert int(city.workplace[city.age < 18].max()) == NO_PLACE


@pytest.mark.parametrize("size", [1, 2, 5, 17])
def test_it_builds_tiny_synthetic_cities_that_run(size: int) -> None:
    city = Population.synthetic(size, 0)
    assert city.size == size
    days = Model(population=city, parameters=load(), seed=0, initial_infections=1).run(5)
    assert int(days[-1].counts.sum()) == size


@pytest.mark.parametrize("code", list(EpidemicErrorCode))
def test_it_documents_every_refusal(code: EpidemicErrorCode) -> None:
    assert f"| `{code}` |" in (DOCS / "drills.md").read_text(encoding="utf-8")


def test_it_refuses_an_unknown_preset() -> None:
    with pytest.raises(FangkongError) as refused:
        load("delta")
    assert refused.value.code is EpidemicErrorCode.PRESET_UNKNOWN


def test_it_refuses_a_population_with_arrays_of_different_lengths(city: Population) -> None:
    broken = dataclasses.replace(city, household=city.household[:-1])
    with pytest.raises(FangkongError) as refused:
        Model(population=broken, parameters=load(), seed=1, initial_infections=1)
    assert refused.value.code is EpidemicErrorCode.POPULATION_LENGTH_MISMATCH
    assert refused.value.field == "household"


def test_it_refuses_more_seeded_infections_than_people(city: Population) -> None:
    with pytest.raises(FangkongError) as refused:
        Model(population=city, parameters=load(), seed=1, initial_infections=SIZE + 1)
    assert refused.value.code is EpidemicErrorCode.SEED_INFECTIONS_INVALID


def test_it_refuses_an_intervention_on_an_unknown_area_and_changes_nothing(
    city: Population,
) -> None:
    running = model(city)
    running.run(5)
    state, day = running.state.copy(), running.day
    unknown = np.array([int(city.community.max()) + 1], np.int32)
    with pytest.raises(FangkongError) as refused:
        running.step(Interventions(locked_communities=unknown))
    assert refused.value.code is EpidemicErrorCode.INTERVENTION_ID_INVALID
    assert refused.value.field == "locked_communities"
    assert running.day == day
    assert running.state.tolist() == state.tolist()


def test_it_exposes_imported_cases_on_the_current_day_once(city: Population) -> None:
    running = model(city, seeded=0)
    running.run(3)
    running.infect(np.array([7, 7, 8], np.int32))
    assert running.state[[7, 8]].tolist() == [State.EXPOSED, State.EXPOSED]
    assert running.courses.exposed[[7, 8]].tolist() == [3, 3]
    assert running.infection_layer[[7, 8]].tolist() == [SEEDED, SEEDED]
    assert int(np.count_nonzero(running.state)) == 2


def test_it_refuses_an_imported_case_outside_the_population(city: Population) -> None:
    running = model(city, seeded=0)
    with pytest.raises(FangkongError) as refused:
        running.infect(np.array([SIZE], np.int32))
    assert refused.value.code is EpidemicErrorCode.SEED_INFECTIONS_INVALID
    assert int(np.count_nonzero(running.state)) == 0


def test_it_refuses_a_negative_building_id(city: Population) -> None:
    building = city.building.copy()
    building[0] = -1
    with pytest.raises(FangkongError) as refused:
        dataclasses.replace(city, building=building).validate()
    assert refused.value.code is EpidemicErrorCode.POPULATION_ID_INVALID
    assert refused.value.field == "building"


def test_it_refuses_an_empty_population() -> None:
    with pytest.raises(FangkongError) as refused:
        Population.synthetic(0, 1)
    assert refused.value.code is EpidemicErrorCode.POPULATION_EMPTY
