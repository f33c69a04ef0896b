"""The drill's day loop: the epidemic model and the real platform, on simulated time.

Each simulated day, under a manual clock:

1. 06:00 the platform's restrictions (people in isolation orders in force and known cases,
   compounds and buildings under confirmed risk designations) become the model's interventions,
   and the model simulates the day;
2. 09:00 the samplers hold the day's rounds (fever clinic, re-sampling of positive pools,
   people under isolation orders, risk areas, mass rounds in districts with recent cases);
3. 20:00 the lab tests the tubes and its result file goes through ingestion;
4. 22:00 the venues' place-code scans of the day arrive;
5. 22:30 the platform acts through its own actions: the case intake from positive results, the
   epidemiologist confirms each new investigation (tracing finds the contacts), the isolation
   officer orders the identified contacts into isolation, the day's cases are transferred to
   the shelter hospital, isolation tests are filed and orders whose phase ended go through the
   release path; risk areas (confirmed by the officer), the day's facts of every risk area, the
   daily evaluation, health codes.

The twin reads the model; the platform steps (``fangkong.drill.platform``) read only the
database. The loop records both sides per day for the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.core import clock
from fangkong.core.ids import new_token
from fangkong.core.scope import Actor
from fangkong.drill import care, platform
from fangkong.drill.records import DayRecord as DayRecord
from fangkong.drill.records import DrillConfig as DrillConfig
from fangkong.drill.records import DrillRun as DrillRun
from fangkong.drill.twin import (
    CityIndex,
    TwinParameters,
    load_parameters,
    results_csv,
    run_lab,
    scans_for,
)
from fangkong.healthcode.enums import ContactKind
from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import load_catalog
from fangkong.sim.epidemic.enums import State
from fangkong.sim.epidemic.model import Interventions, Model
from fangkong.sim.epidemic.parameters import load as load_epidemic
from fangkong.sim.epidemic.population import Population
from fangkong.tracing.enums import CaseStatus, ContactCategory

CITY_CODE = "4302"
CONTACT_KINDS = {
    ContactCategory.CLOSE_CONTACT.value: ContactKind.CLOSE,
    ContactCategory.SECONDARY_CONTACT.value: ContactKind.SECONDARY,
}
ROUND_DURATION = timedelta(hours=10)


@dataclass
class _RoundPlan:
    """The day's rounds as they are planned: nobody is sampled twice a day, cases never."""

    cases: set[int]
    tested: set[int] = field(default_factory=set)
    rounds: list[tuple[str, str, list[list[int]], int, str]] = field(default_factory=list)

    def single(self, name: str, people: Sequence[int], rule: str) -> None:
        chosen = [i for i in people if i not in self.tested and i not in self.cases]
        self.tested.update(chosen)
        if chosen:
            self.rounds.append((name, CITY_CODE, [[i] for i in chosen], 1, rule))


def drill_actor(*, session: Session, username: str, role: Role) -> Actor:
    """The twin's account for a role (city-wide), created locked on first use."""
    user = accounts_service.get_by_username(session=session, username=username)
    if user is None:
        user = accounts_service.create_user(
            session=session,
            actor=None,
            username=username,
            password=new_token(),
            role=role,
            display_name=username,
            area_code=CITY_CODE,
        )
    return accounts_service.actor_for(user)


def run_drill(
    *,
    session: Session,
    population: Population,
    index: CityIndex,
    config: DrillConfig,
    commit: Callable[[], None],
    on_day: Callable[[DayRecord], None] = lambda _day: None,
    parameters: TwinParameters | None = None,
) -> DrillRun:
    """Run the drill on the city in ``session``; ``commit`` is called after every day."""
    p = parameters or load_parameters()
    catalog = load_catalog(schemas=[HEALTHCODE_SECTION])
    pack = catalog.get(config.pack_id)
    pack_version = pack.manifest.version
    codes_section = pack.section(HEALTHCODE_SECTION)
    sampler = drill_actor(session=session, username="drill-sampler", role=Role.SAMPLER)
    officer = drill_actor(session=session, username="drill-officer", role=Role.COMMAND_CENTRE)
    epi = drill_actor(session=session, username="drill-epi", role=Role.EPIDEMIOLOGIST)
    isolation_officer = drill_actor(
        session=session, username="drill-isolation", role=Role.ISOLATION_MANAGER
    )
    transfer_team = drill_actor(session=session, username="drill-transfer", role=Role.TRANSFER_TEAM)
    commit()

    rng = np.random.default_rng([config.seed, 1])
    # The clinicians draw from their own stream so that adding them left the epidemic's draws
    # (rounds, lab, scans) as they were.
    care_rng = np.random.default_rng([config.seed, 2])
    in_care: list[care.InCare] = []
    recovered: dict[int, datetime] = {}  # platform person id -> discharge
    model = Model(
        population=population,
        parameters=load_epidemic(config.preset),
        seed=config.seed,
        initial_infections=0,
    )
    district = (
        index.district_code.index(p.seed_district) if p.seed_district in index.district_code else 0
    )
    residents = np.flatnonzero(population.district == district)
    seeds = rng.choice(
        residents, min(config.seed_infections or p.seed_infections, residents.shape[0]), False
    ).astype(np.int32)
    model.infect(seeds)
    run = DrillRun(config=config, population=population.size)
    for person in seeds.tolist():
        run.infection_day[person] = 0
        run.infector[person] = -1

    start = p.start
    local = start.tzinfo
    cases: dict[int, datetime] = {}  # platform person id -> first positive sample
    # platform person id -> kind and last exposure, from tracing's contact rows
    contacts: dict[int, tuple[ContactKind, datetime]] = {}
    recheck: list[int] = []
    district_last_case: dict[str, int] = {}
    processed_until = start - timedelta(days=1)
    zero_streak = 0
    manual = clock.ManualClock(start)
    compound_index = {int(c): i for i, c in enumerate(index.compound_id.tolist())}
    building_index = {int(b): i for i, b in enumerate(index.building_id.tolist())}
    paths = index.person_path

    with clock.use_clock(manual):
        for d in range(config.days):
            day_start = start + timedelta(days=d)
            manual.set(day_start + timedelta(hours=6))
            # 1. The platform's restrictions are the model's interventions.
            r = platform.restrictions(session=session)
            centrally = index.known_indices_of(r.centrally)
            at_home = index.known_indices_of(r.at_home)
            locked_c = np.array(
                [compound_index[c] for c in r.compounds if c in compound_index], np.int32
            )
            locked_b = np.array(
                [building_index[b] for b in r.buildings if b in building_index], np.int32
            )
            isolated = np.zeros(population.size, bool)
            isolated[centrally] = True
            isolated[at_home] = True
            controlled = np.isin(population.compound, locked_c) | np.isin(
                population.building, locked_b
            )
            for person in np.flatnonzero(isolated).tolist():
                run.isolated_days.setdefault(person, []).append(d)
            today = model.step(
                Interventions(
                    isolated_centrally=centrally.astype(np.int32),
                    isolated_at_home=at_home.astype(np.int32),
                    locked_compounds=locked_c,
                    locked_buildings=locked_b,
                )
            )
            infected = today.infected
            for person, source in zip(infected.tolist(), today.infectors.tolist(), strict=True):
                run.infection_day[person] = d
                run.infector[person] = source
            community = int(np.count_nonzero(~(isolated | controlled)[infected]))
            if d == 0:
                community += int(seeds.shape[0])
            loads = model.viral_load_log10()

            # 2. Samplers: who is sampled today, in which round.
            manual.set(day_start + timedelta(hours=9))
            plan = _RoundPlan(set(index.known_indices_of(list(cases)).tolist()) if cases else set())
            single = plan.single
            tested, case_idx, rounds = plan.tested, plan.cases, plan.rounds

            symptomatic = np.flatnonzero(
                (model.state >= State.SYMPTOMATIC) & (model.state <= State.CRITICAL)
            )
            presenting = symptomatic[rng.random(symptomatic.shape[0]) < p.symptomatic_presentation]
            single(f"day {d} fever clinics", presenting.tolist(), "drill.fever_clinic")
            single(
                f"day {d} pool re-sampling",
                index.known_indices_of(recheck).tolist() if recheck else [],
                "drill.pool_recheck",
            )
            due = platform.isolation_tests_due(session=session, sample_at=clock.now())
            single(
                f"day {d} isolation tests",
                index.indices_of(sorted(due)).tolist() if due else [],
                "drill.isolation_test",
            )
            area_residents = platform.designation_residents(session=session)
            area_groups: dict[int, list[int]] = {}
            for designation, people in area_residents.items():
                idx = index.known_indices_of(people)
                turn_up = idx[rng.random(idx.shape[0]) < p.round_attendance].tolist()
                chosen = [i for i in turn_up if i not in tested and i not in case_idx]
                tested.update(chosen)
                if chosen:
                    area_groups[designation] = chosen
            if area_groups:
                rounds.append(
                    (f"day {d} risk-area round", CITY_CODE, list(area_groups.values()),
                     p.risk_area_pool_size, "drill.risk_area_round")
                )  # fmt: skip
            for code, last in sorted(district_last_case.items()):
                if d - last > p.case_window_days or (d - last) % p.mass_round_every_days:
                    continue
                residents_d = np.flatnonzero(population.district == index.district_code.index(code))
                turn_up = residents_d[
                    rng.random(residents_d.shape[0]) < p.round_attendance
                ].tolist()
                chosen = [i for i in turn_up if i not in tested and i not in case_idx]
                tested.update(chosen)
                if chosen:
                    rounds.append(
                        (f"day {d} mass round {code}", code, [chosen], p.mass_round_pool_size,
                         "drill.mass_round")
                    )  # fmt: skip

            tubes: list[tuple[str, Any, datetime]] = []
            area_tubes: dict[int, list[str]] = {}
            samples = 0
            for name, area_code, groups, pool_size, rule in rounds:
                id_groups = [index.person_id[g].tolist() for g in groups]
                sampled = platform.sample_round(
                    session=session,
                    actor=sampler,
                    name=name,
                    area_code=area_code,
                    groups=id_groups,
                    paths={
                        pid: paths[i]
                        for g in groups
                        for pid, i in zip(index.person_id[g].tolist(), g, strict=True)
                    },
                    pool_size=pool_size,
                    rule_ref=f"{rule}@{config.pack_id}",
                    duration=ROUND_DURATION,
                )
                for barcode, members in sampled.tubes.items():
                    tubes.append((barcode, index.indices_of(members), clock.now()))
                    samples += len(members)
                if rule == "drill.risk_area_round":
                    barcode_of = {m: b for b, ms in sampled.tubes.items() for m in ms}
                    for designation, group in area_groups.items():
                        area_tubes[designation] = sorted(
                            {barcode_of[pid] for pid in index.person_id[group].tolist()}
                        )

            # 3. The lab's results go through ingestion.
            manual.set(day_start + timedelta(hours=20))
            outcomes = run_lab(tubes=tubes, loads=loads, rng=rng, parameters=p)
            summary = ""
            if outcomes:
                summary = platform.ingest_results(
                    session=session,
                    filename=f"drill-day-{d:03d}.csv",
                    content=results_csv(outcomes=outcomes, reported_at=clock.now(), parameters=p),
                )
            detected = {o.barcode for o in outcomes if o.detected}

            # 4. Place-code scans of the day.
            manual.set(day_start + timedelta(hours=22))
            scans = scans_for(
                visits=today.venue_visits,
                index=index,
                day_start=day_start,
                rng=rng,
                compliance=p.scan_compliance,
            )
            if scans:
                platform.record_scans(session=session, scans=scans)

            # 5. The platform acts on what it knows.
            manual.set(day_start + timedelta(hours=22, minutes=30))
            found = platform.open_cases(
                session=session, since=processed_until, pack_id=config.pack_id
            )
            recheck = [
                person
                for person in platform.positive_pool_members(session=session, since=processed_until)
                if person not in cases and person not in {case.person_id for case in found}
            ]
            platform.file_isolation_tests(
                session=session, officer=isolation_officer, since=processed_until
            )
            for case in found:
                cases[case.person_id] = case.sampled_at
                known = index.known_indices_of([case.person_id])
                if not known.shape[0]:
                    continue  # a case the platform found outside the drill's city
                i = int(known[0])
                run.case_found_day[i] = d
                run.case_sample_day[i] = (
                    case.sampled_at.astimezone(local).date() - start.date()
                ).days
                district_last_case[paths[i].split("/")[3]] = d
                in_care.append(care.InCare(case_id=case.case_id, person=i, admitted_day=d))
            traced = platform.confirm_investigations(
                session=session, epidemiologist=epi, cases=found
            )
            new_contacts = {
                contact.person_id: (CONTACT_KINDS[contact.category], contact.last_exposure_at)
                for contact in traced
                if contact.already_case_id is None
            }
            contacts.update(new_contacts)
            run.contacts_found.update(
                index.known_indices_of(sorted({c.person_id for c in traced})).tolist()
            )
            orders = platform.isolate_contacts(
                session=session,
                officer=isolation_officer,
                pack_id=config.pack_id,
                pack_version=pack_version,
            ).created
            placed = platform.place_in_facilities(
                session=session,
                officer=isolation_officer,
                team=transfer_team,
                order_ids=orders,
                waiting=platform.waiting_for_room(session=session),
            )
            platform.transfer_cases(
                session=session,
                dispatcher=isolation_officer,
                team=transfer_team,
                epidemiologist=epi,
                cases=found,
            )
            outcome = _play_clinicians(
                session=session,
                epidemiologist=epi,
                day=d,
                in_care=in_care,
                model=model,
                loads=loads,
                rng=care_rng,
                parameters=p,
                run=run,
            )
            in_care = [patient for patient in in_care if patient.status in care.IN_CARE]
            discharged_ids = index.person_id[outcome.discharged].tolist()
            recovered.update(dict.fromkeys(discharged_ids, clock.now()))
            releases = platform.release_due_orders(
                session=session, officer=isolation_officer, since=processed_until
            )
            processed_until = clock.now()
            if found:
                platform.propose_and_confirm_areas(
                    session=session,
                    officer=officer,
                    cases=found,
                    pack_id=config.pack_id,
                    pack_version=pack_version,
                )
            negative = {
                designation: not any(b in detected for b in barcodes)
                for designation, barcodes in area_tubes.items()
            }
            platform.record_area_days(
                session=session, officer=officer, cases_today=found, rounds=negative
            )
            platform.evaluate_areas(session=session)
            changed = platform.recompute_codes(
                session=session,
                person_ids=sorted(
                    {c.person_id for c in found}
                    | set(new_contacts)
                    | set(releases.released)
                    | set(releases.next_phase)
                    | set(discharged_ids)
                ),
                pack=codes_section,
                cases=cases,
                contacts=contacts,
                recovered=recovered,
            )
            commit()
            # 6. Past the day's cut-off, the command centre files the day's bulletin.
            manual.set(day_start + timedelta(days=1, minutes=5))
            platform.publish_bulletin(session=session, officer=officer, day=day_start.date())
            commit()

            record = DayRecord(
                day=d,
                date=day_start.date().isoformat(),
                true_infections=int(infected.shape[0]) + (int(seeds.shape[0]) if d == 0 else 0),
                community_infections=community,
                infectious=int(
                    np.count_nonzero(
                        (model.state >= State.PRESYMPTOMATIC) & (model.state <= State.CRITICAL)
                    )
                ),
                cases_found=len(found),
                samples=samples,
                tubes=len(tubes),
                rounds=len(rounds),
                in_isolation=int(np.count_nonzero(isolated)),
                under_area_controls=int(np.count_nonzero(controlled)),
                orders_made=len(orders),
                risk_areas=len(r.compounds) + len(r.buildings),
                codes_changed=changed,
                results=summary,
                contacts_found=len(traced),
                orders_released=len(releases.released),
                orders_next_phase=len(releases.next_phase),
                orders_placed=len(placed),
                orders_held=sum(releases.held.values()),
                cases_reclassified=outcome.reclassified,
                cases_to_hospital=outcome.to_hospital,
                cases_discharged=len(outcome.discharged),
                cases_died=outcome.died,
                in_care=len(in_care),
                codes=platform.codes_by_colour(session=session),
            )
            run.days.append(record)
            on_day(record)
            zero_streak = zero_streak + 1 if community == 0 else 0
            active = int(
                np.count_nonzero((model.state >= State.EXPOSED) & (model.state <= State.CRITICAL))
            )
            if config.stop_at_zero and zero_streak >= p.zero_community_days and d > 0:
                run.stopped_because = f"no community infections for {p.zero_community_days} days"
                break
            if config.stop_at_zero and active == 0:
                run.stopped_because = "no infections left"
                break
    return run


@dataclass
class _CareOutcome:
    reclassified: int = 0
    to_hospital: int = 0
    died: int = 0
    discharged: list[int] = field(default_factory=list)  # model indices


def _play_clinicians(
    *,
    session: Session,
    epidemiologist: Actor,
    day: int,
    in_care: list[care.InCare],
    model: Model,
    loads: Any,
    rng: np.random.Generator,
    parameters: TwinParameters,
    run: DrillRun,
) -> _CareOutcome:
    """The hospital's reports on the cases in care, recorded by the epidemiologist through
    tracing's actions; the run keeps the days for the report."""
    out = _CareOutcome()
    decisions = care.examine(
        day=day,
        patients=in_care,
        state=model.state,
        onset=model.courses.symptomatic,
        loads=loads,
        rng=rng,
        parameters=parameters,
    )
    for decision in decisions:
        platform.record_care(
            session=session,
            epidemiologist=epidemiologist,
            case_id=decision.case_id,
            severity=decision.reclassify_as,
            to=decision.to,
            reason=f"hospital report, drill day {day}",
        )
        if decision.reclassify_as is not None:
            out.reclassified += 1
            run.reclassified[decision.person] = decision.reclassify_as.value
        if decision.to is CaseStatus.IN_HOSPITAL:
            out.to_hospital += 1
            run.to_hospital_day[decision.person] = day
        elif decision.to is CaseStatus.DIED:
            out.died += 1
            run.died_day[decision.person] = day
        elif decision.to is CaseStatus.DISCHARGED:
            out.discharged.append(decision.person)
            run.discharged_day[decision.person] = day
    return out
