"""The twin's field behaviour: parameters with sources, the lab's PCR model, its result files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fangkong.drill import twin
from fangkong.drill.twin import TubeOutcome, detection_probability, load_parameters
from fangkong.sim.epidemic.model import VenueVisits
from fangkong.testing.actions import parse_file
from fangkong.testing.enums import LabResult, ResultFormat


def test_it_has_a_unit_and_a_source_for_every_parameter() -> None:
    for group, entries in twin.raw_parameters().items():
        for name, entry in entries.items():
            assert set(entry) == {"value", "unit", "source"}, (group, name)
            assert str(entry["unit"]).strip() and str(entry["source"]).strip(), (group, name)


def test_a_tube_holds_the_members_copies_diluted_by_the_pool_size() -> None:
    p = load_parameters()
    one = np.array([6.0], np.float32)
    assert twin.tube_load_log10(one, 1, p.pool_dilution) == pytest.approx(6.0)
    ten = np.array([6.0] + [0.0] * 9, np.float32)
    assert twin.tube_load_log10(ten, 10, p.pool_dilution) == pytest.approx(5.0)
    two_positive = np.array([6.0, 6.0] + [0.0] * 8, np.float32)
    assert twin.tube_load_log10(two_positive, 10, p.pool_dilution) == pytest.approx(
        5.0 + np.log10(2)
    )
    assert twin.tube_load_log10(np.zeros(10, np.float32), 10, p.pool_dilution) == 0.0


def test_sensitivity_falls_with_pool_size_and_rises_with_viral_load() -> None:
    p = load_parameters()

    def sensitivity(load: float, pool: int) -> float:
        members = np.array([load] + [0.0] * (pool - 1), np.float32)
        return detection_probability(twin.tube_load_log10(members, pool, p.pool_dilution), p)

    assert sensitivity(3.0, 1) == pytest.approx(p.max_sensitivity / 2)
    assert sensitivity(4.0, 10) == pytest.approx(p.max_sensitivity / 2)
    by_pool = [sensitivity(4.0, k) for k in (1, 5, 10, 20)]
    assert by_pool == sorted(by_pool, reverse=True)
    by_load = [sensitivity(v, 10) for v in (3.0, 4.0, 5.0, 7.0)]
    assert by_load == sorted(by_load)
    assert sensitivity(8.0, 1) == pytest.approx(p.max_sensitivity, abs=1e-6)
    assert detection_probability(0.0, p) == 0.0


def test_its_result_file_is_read_back_by_the_platform_parser() -> None:
    p = load_parameters()
    taken = datetime(2022, 11, 10, 1, 0, tzinfo=UTC)
    outcomes = [
        TubeOutcome("R1-1", True, 21.3, taken),
        TubeOutcome("R1-2", False, None, taken),
    ]
    content = twin.results_csv(
        outcomes=outcomes, reported_at=taken + timedelta(hours=11), parameters=p
    )
    report = parse_file(result_format=ResultFormat.CSV, content=content)
    assert report.rejected == []
    assert [(r.tube_barcode, r.result, r.ct_values) for r in report.accepted] == [
        ("R1-1", LabResult.DETECTED, {"N": 21.3}),
        ("R1-2", LabResult.NOT_DETECTED, {}),
    ]


def test_a_negative_tube_has_no_ct_and_a_positive_one_follows_the_load() -> None:
    p = load_parameters()
    loads = np.array([8.0, 0.0], np.float32)
    at = datetime(2022, 11, 10, tzinfo=UTC)
    rng = np.random.default_rng(1)
    outcomes = twin.run_lab(
        tubes=[("R1-1", np.array([0]), at), ("R1-2", np.array([1]), at)],
        loads=loads,
        rng=rng,
        parameters=p,
    )
    assert outcomes[1] == TubeOutcome("R1-2", False, None, at)
    assert outcomes[0].ct in (None, round(p.ct_intercept - p.ct_per_log10 * 8.0, 1))


def test_scans_carry_the_registry_ids_and_the_hour_of_the_visit() -> None:
    index = twin.CityIndex(
        person_id=np.array([101, 102, 103], np.int64),
        person_path=["/a/", "/a/", "/a/"],
        household_id=np.array([1], np.int64),
        building_id=np.array([1], np.int64),
        compound_id=np.array([1], np.int64),
        venue_id=np.array([501, 502], np.int64),
        district_code=["430203"],
    )
    visits = VenueVisits(
        person=np.array([0, 2], np.int32),
        venue=np.array([1, 0], np.int32),
        hour=np.array([9, 20], np.int8),
    )
    start = datetime(2022, 11, 10, tzinfo=UTC)
    scans = twin.scans_for(
        visits=visits, index=index, day_start=start, rng=np.random.default_rng(2), compliance=1.0
    )
    assert [(person, venue) for person, venue, _ in scans] == [(101, 502), (103, 501)]
    assert [(at - start).seconds // 3600 for _, _, at in scans] == [9, 20]
    assert (
        twin.scans_for(
            visits=visits,
            index=index,
            day_start=start,
            rng=np.random.default_rng(2),
            compliance=0.0,
        )
        == []
    )
    assert index.indices_of([103, 101]).tolist() == [2, 0]
    assert index.known_indices_of([103, 99, 102, 104]).tolist() == [2, 1]
    assert index.known_indices_of([]).tolist() == []
