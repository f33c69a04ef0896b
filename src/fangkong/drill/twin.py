"""The twin: turns a simulated day into what the platform would receive from the field.

It plays the residents (place-code scans, who turns up to a test round, who goes to a fever
clinic with symptoms) and the lab (PCR results of pooled tubes from the members' viral loads).
It reads the model's ground truth; the platform side (``fangkong.drill.platform``) never does.
Parameters, with units and sources, are in ``parameters.yaml`` next to this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.scope import within_path
from fangkong.registry.enums import WorkplaceKind
from fangkong.registry.models import Building, Compound, Household, Person, Venue, Workplace
from fangkong.sim.epidemic.model import VenueVisits
from fangkong.sim.epidemic.population import NO_PLACE, Population

PARAMETERS_FILE = Path(__file__).with_name("parameters.yaml")
IdArray = NDArray[np.int64]


@dataclass(frozen=True)
class TwinParameters:
    """The values of ``parameters.yaml`` (units and sources stay in the file)."""

    detection_threshold_log10: float
    detection_slope_log10: float
    max_sensitivity: float
    pool_dilution: float
    ct_intercept: float
    ct_per_log10: float
    lab_id: str
    loinc_code: str
    round_attendance: float
    symptomatic_presentation: float
    scan_compliance: float
    mass_round_every_days: int
    mass_round_pool_size: int
    risk_area_pool_size: int
    case_window_days: int
    discharge_first_test_day: int
    discharge_test_interval_days: int
    discharge_ct_threshold: float
    seed_district: str
    seed_infections: int
    zero_community_days: int
    start: datetime


def raw_parameters() -> dict[str, dict[str, dict[str, Any]]]:
    with PARAMETERS_FILE.open(encoding="utf-8") as handle:
        data: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(handle)
    return data


@cache
def load_parameters() -> TwinParameters:
    values: dict[str, Any] = {
        name: entry["value"] for group in raw_parameters().values() for name, entry in group.items()
    }
    values["start"] = datetime.fromisoformat(values["start"])
    return TwinParameters(**values)


@dataclass(frozen=True)
class CityIndex:
    """How the model's dense indices map to the platform's rows.

    ``person_id[i]`` is the registry id of model person ``i`` (ascending); ``compound_id[c]`` the
    id of model compound ``c``, and so on. ``district_code[d]`` is the division code of model
    district ``d``.
    """

    person_id: IdArray
    person_path: list[str]
    household_id: IdArray
    building_id: IdArray
    compound_id: IdArray
    venue_id: IdArray
    district_code: list[str]

    def indices_of(self, person_ids: Sequence[int] | IdArray) -> IdArray:
        """Model indices of registry person ids (all must belong to the city)."""
        ids = np.asarray(person_ids, dtype=np.int64)
        return np.searchsorted(self.person_id, ids).astype(np.int64)

    def known_indices_of(self, person_ids: Sequence[int]) -> IdArray:
        """Model indices of those ``person_ids`` that belong to the city (others are skipped:
        people the platform knows outside the generated city take no part in the drill)."""
        at = self.indices_of(person_ids).clip(0, max(self.person_id.shape[0] - 1, 0))
        ids = np.asarray(person_ids, dtype=np.int64)
        return at[self.person_id[at] == ids] if ids.shape[0] else at


def _dense(values: Sequence[int]) -> tuple[IdArray, NDArray[np.int32]]:
    ids, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    return ids, inverse.astype(np.int32)


def _community_path(path: str) -> str:
    """The community prefix of a path below it: /province/city/district/township/community/."""
    return "/" + "/".join([part for part in path.split("/") if part][:5]) + "/"


def load_population(*, session: Session, city_code: str, on: date) -> tuple[Population, CityIndex]:
    """Read the city's residents from the registry into a model population.

    Everyone with a household under ``city_code`` takes part; ages are at ``on``. Schools are the
    workplaces of kind ``school`` (their pupils and staff form the school layer).
    """
    city_path = f"/{city_code[:2]}/{city_code}/"
    rows = session.execute(
        select(
            Person.id,
            Person.area_path,
            Person.birth_date,
            Person.sex,
            Person.household_id,
            Household.building_id,
            Building.compound_id,
            Compound.area_path,
            Person.workplace_id,
            Workplace.kind,
        )
        .join(Household, Household.id == Person.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .outerjoin(Workplace, Workplace.id == Person.workplace_id)
        .where(within_path(Person.area_path, city_path), Person.merged_into_id.is_(None))
        .order_by(Person.id)
    ).all()
    (ids, paths, born, sex, households, buildings, compounds, compound_paths, work, kind) = (
        list(column) for column in zip(*rows, strict=True)
    )
    n = len(ids)
    age = np.array(
        [(on - b).days // 365 if b is not None else 40 for b in born], dtype=np.int16
    ).clip(0, 110)
    household_id, household = _dense(households)
    building_id, building = _dense(buildings)
    compound_id, compound = _dense(compounds)
    community_paths = [_community_path(p) for p in compound_paths]
    community_names, community = np.unique(np.array(community_paths), return_inverse=True)
    district_names, district = np.unique(
        np.array([p.split("/")[3] for p in paths]), return_inverse=True
    )
    is_school = np.array([k == WorkplaceKind.SCHOOL.value for k in kind])
    work_ids = np.array([w if w is not None else -1 for w in work], dtype=np.int64)
    workplace = np.full(n, NO_PLACE, np.int32)
    school = np.full(n, NO_PLACE, np.int32)
    for target, mask in ((workplace, (work_ids >= 0) & ~is_school), (school, is_school)):
        if mask.any():
            _, dense = np.unique(work_ids[mask], return_inverse=True)
            target[mask] = dense
    community_of = {str(path): i for i, path in enumerate(community_names.tolist())}
    venue_rows = session.execute(
        select(Venue.id, Venue.area_path)
        .where(within_path(Venue.area_path, city_path))
        .order_by(Venue.id)
    ).all()
    # Venues of a community without residents get no visitors: they are left out.
    venues = [
        (vid, community_of[_community_path(p)])
        for vid, p in venue_rows
        if _community_path(p) in community_of
    ]
    population = Population(
        age=age,
        sex=np.array([s == "M" for s in sex], dtype=np.int8),
        household=household,
        building=building,
        compound=compound,
        community=community.astype(np.int32),
        district=district.astype(np.int16),
        workplace=workplace,
        school=school,
        venue_community=np.array([c for _, c in venues], dtype=np.int32),
    )
    index = CityIndex(
        person_id=np.array(ids, dtype=np.int64),
        person_path=list(paths),
        household_id=household_id,
        building_id=building_id,
        compound_id=compound_id,
        venue_id=np.array([vid for vid, _ in venues], dtype=np.int64),
        district_code=[str(d) for d in district_names.tolist()],
    )
    return population, index


def scans_for(
    *,
    visits: VenueVisits,
    index: CityIndex,
    day_start: datetime,
    rng: np.random.Generator,
    compliance: float,
) -> list[tuple[int, int, datetime]]:
    """The place-code scans ``(person id, venue id, scanned_at)`` a day's venue visits produce
    (``compliance`` of them are scanned), at a random minute of the visit's hour."""
    scanned = rng.random(visits.person.shape[0]) < compliance
    minutes = np.asarray(rng.integers(0, 60, visits.person.shape[0]), dtype=np.int64)
    person = index.person_id[visits.person[scanned]].tolist()
    venue = index.venue_id[visits.venue[scanned]].tolist()
    offsets = (visits.hour[scanned].astype(np.int64) * 60 + minutes[scanned]).tolist()
    moments = [day_start + timedelta(minutes=m) for m in range(24 * 60)]
    return [(p, v, moments[m]) for p, v, m in zip(person, venue, offsets, strict=True)]


def tube_load_log10(member_loads: NDArray[np.float32], pool_size: int, dilution: float) -> float:
    """Concentration in a tube of ``pool_size`` swabs (log10 copies/ml): the members' copies
    summed, diluted by the pool size. Members without virus (load 0) add nothing."""
    copies = float(np.sum(np.where(member_loads > 0, 10.0 ** member_loads.astype(np.float64), 0)))
    if copies <= 0:
        return 0.0
    return float(np.log10(copies) - dilution * np.log10(max(pool_size, 1)))


def detection_probability(load_log10: float, parameters: TwinParameters) -> float:
    """PCR sensitivity at a tube concentration: logistic around the detection threshold, capped
    by the share of swabs that catch the virus; 0 for a tube without virus."""
    if load_log10 <= 0:
        return 0.0
    z = (load_log10 - parameters.detection_threshold_log10) / parameters.detection_slope_log10
    return parameters.max_sensitivity / (1.0 + float(np.exp(-z)))


@dataclass(frozen=True)
class TubeOutcome:
    barcode: str
    detected: bool
    ct: float | None
    collected_at: datetime


def run_lab(
    *,
    tubes: Sequence[tuple[str, IdArray, datetime]],
    loads: NDArray[np.float32],
    rng: np.random.Generator,
    parameters: TwinParameters,
) -> list[TubeOutcome]:
    """Test each tube ``(barcode, member indices, collected_at)`` from its members' loads."""
    outcomes = []
    draws = rng.random(len(tubes))
    for (barcode, members, collected_at), draw in zip(tubes, draws, strict=True):
        load = tube_load_log10(loads[members], len(members), parameters.pool_dilution)
        detected = bool(draw < detection_probability(load, parameters))
        ct = (
            round(float(parameters.ct_intercept - parameters.ct_per_log10 * load), 1)
            if detected
            else None
        )
        outcomes.append(TubeOutcome(barcode, detected, ct, collected_at))
    return outcomes


def results_csv(
    *, outcomes: Sequence[TubeOutcome], reported_at: datetime, parameters: TwinParameters
) -> bytes:
    """The lab's result file, in the platform's CSV result format (docs/testing.md)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["record_id", "lab_id", "tube_barcode", "loinc_code", "result", "collected_at",
         "reported_at", "ct_N"]
    )  # fmt: skip
    for number, outcome in enumerate(outcomes, start=1):
        writer.writerow(
            [
                f"{outcome.barcode}-{number}",
                parameters.lab_id,
                outcome.barcode,
                parameters.loinc_code,
                "detected" if outcome.detected else "not_detected",
                outcome.collected_at.isoformat(),
                reported_at.isoformat(),
                "" if outcome.ct is None else f"{outcome.ct:.1f}",
            ]
        )
    return out.getvalue().encode("utf-8")
