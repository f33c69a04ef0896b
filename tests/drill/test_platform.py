"""The drill's platform steps on both databases: what they store, and that they work only from
what the platform stores."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.areas.models import RiskDesignation
from fangkong.core.crypto import get_cipher
from fangkong.drill import platform
from fangkong.drill.loop import CITY_CODE, DrillConfig, DrillRun, run_drill
from fangkong.drill.twin import CityIndex, load_parameters, load_population
from fangkong.isolation.enums import Category
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Person
from fangkong.sim.city.generator import City, generate
from fangkong.sim.city.load import load_city
from fangkong.testing.enums import CampaignStatus, TubeStatus
from fangkong.testing.models import TestCampaign, Tube
from fangkong.tracing.models import PlaceScan

PACK = "zhuzhou-2022-11"
DAYS = 6


@cache
def small_city() -> City:
    return generate(population=2_000, seed=5)


@pytest.fixture
def drilled(session: Session) -> tuple[DrillRun, CityIndex]:
    load_city(session=session, city=small_city(), cipher=get_cipher())
    session.flush()
    start = load_parameters().start
    population, index = load_population(session=session, city_code=CITY_CODE, on=start.date())
    run = run_drill(
        session=session,
        population=population,
        index=index,
        config=DrillConfig(pack_id=PACK, seed=7, days=DAYS),
        commit=session.commit,
    )
    return run, index


def test_cases_are_the_people_with_a_detected_single_tube(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, index = drilled
    residents = session.scalar(select(func.count()).select_from(Person))
    assert index.person_id.shape[0] == residents == 2_000
    start = load_parameters().start
    cases = platform.new_cases(session=session, since=start - timedelta(days=1), known=())
    assert cases, "the drill found no case: pick a seed that does"
    assert sorted(c.person_id for c in cases) == sorted(
        index.person_id[sorted(run.case_found_day)].tolist()
    )
    assert (
        platform.new_cases(session=session, since=start, known=[c.person_id for c in cases]) == []
    )

    # The household members of a case are its contacts and got isolation orders.
    case = platform.new_cases(session=session, since=start - timedelta(days=1), known=())[0]
    household = session.scalar(select(Person.household_id).where(Person.id == case.person_id))
    members = set(
        session.scalars(
            select(Person.id).where(Person.household_id == household, Person.id != case.person_id)
        )
    )
    contacts = platform.contacts_of(session=session, cases=[case], lookback=timedelta(days=4))
    assert members <= set(contacts)
    assert all(source == case.person_id for source, _ in contacts.values())
    venue_contacts = set(contacts) - members
    scanned = set(session.scalars(select(PlaceScan.person_id).distinct()))
    assert venue_contacts <= scanned
    ordered = set(session.scalars(select(IsolationOrder.person_id)))
    # Members not ordered into isolation are cases themselves (taken out as cases).
    assert members - ordered <= {c.person_id for c in cases}
    orders = session.scalars(select(IsolationOrder)).all()
    assert {(o.category, o.pack_id) for o in orders} == {(Category.CLOSE_CONTACT.value, PACK)}
    assert all(o.rule_id for o in orders)


def test_rounds_are_closed_tubes_sealed_and_risk_areas_cite_their_rule(
    session: Session, drilled: tuple[DrillRun, CityIndex]
) -> None:
    run, _ = drilled
    statuses = set(session.scalars(select(TestCampaign.status)))
    assert statuses == {CampaignStatus.CLOSED.value}
    assert set(session.scalars(select(Tube.status))) == {TubeStatus.SEALED.value}
    tubes = session.scalar(select(func.count()).select_from(Tube))
    assert tubes == sum(day.tubes for day in run.days)
    designations = session.scalars(select(RiskDesignation)).all()
    assert designations
    assert {d.pack_id for d in designations} == {PACK}
    assert all(d.rule_id and d.rule_id.startswith("area.") for d in designations)
