"""The fact providers read exactly what the other domains' tables say, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from fangkong.healthcode import facts as hc_facts
from fangkong.healthcode import providers, service
from fangkong.healthcode.enums import RiskLevel, SampleResult, Supervision
from fangkong.healthcode.facts import (
    AreaFacts,
    IsolationFacts,
    Sample,
    SkippedRound,
)
from fangkong.healthcode.models import HealthCode
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Household
from tests import places
from tests.healthcode import world
from tests.healthcode.builders import section

NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)
JIANNING = "430203003"


def _home(session: Session) -> Household:
    return places.household(
        session, places.building(session, places.compound(session, "建宁小区"), "1栋")
    )


def test_it_reads_samples_pools_and_skipped_rounds(session: Session) -> None:
    home = _home(session)
    pooled = places.person(session, "池阳", at=home)
    rechecked = places.person(session, "复核", at=home)
    tested = places.person(session, "阴性", at=home)
    absent = places.person(session, "未检", at=home)
    old_negative = places.person(session, "旧阴", at=home, tags=int(PersonTag.KEY_WORKER))
    day = timedelta(days=1)
    round_ = world.campaign(
        session,
        area_code=JIANNING,
        starts_at=NOW - 3 * day,
        ends_at=NOW - 2 * day,
        closed=True,
    )
    world.tube(
        session,
        [pooled, rechecked, tested],
        sampled_at=NOW - 3 * day,
        result="detected",
        reported_at=NOW - 2 * day,
        campaign_id=round_.id,
    )
    world.tube(session, [rechecked], sampled_at=NOW - day, result="not_detected")
    world.tube(session, [tested], sampled_at=NOW - timedelta(hours=6), result=None)
    world.tube(session, [old_negative], sampled_at=NOW - 20 * day, result="not_detected")
    world.tube(session, [old_negative], sampled_at=NOW - 30 * day, result="not_detected")
    ids = [pooled.id, rechecked.id, tested.id, absent.id, old_negative.id]

    facts = providers.testing_facts(session=session, person_ids=ids, now=NOW)

    pending = SampleResult.PENDING
    assert facts[pooled.id] == hc_facts.TestingFacts(
        samples=(Sample(NOW - 3 * day, pending),),
        is_in_positive_pool_awaiting_review=True,
        pool_flagged_at=NOW - 2 * day,
    )
    assert facts[rechecked.id] == hc_facts.TestingFacts(
        samples=(Sample(NOW - 3 * day, pending), Sample(NOW - day, SampleResult.NEGATIVE))
    )
    assert facts[tested.id] == hc_facts.TestingFacts(
        samples=(Sample(NOW - 3 * day, pending), Sample(NOW - timedelta(hours=6), pending)),
        is_in_positive_pool_awaiting_review=True,
        pool_flagged_at=NOW - 2 * day,
    )
    assert facts[absent.id] == hc_facts.TestingFacts(
        skipped_rounds=(SkippedRound(f"campaign-{round_.id}", NOW - 2 * day),)
    )
    assert facts[old_negative.id] == hc_facts.TestingFacts(
        samples=(Sample(NOW - 20 * day, SampleResult.NEGATIVE),),
        skipped_rounds=(SkippedRound(f"campaign-{round_.id}", NOW - 2 * day),),
        is_key_post_worker=True,
    )


def test_it_reads_isolation_orders_and_residence_risk(session: Session) -> None:
    home = _home(session)
    monitored = places.person(session, "监测", at=home)
    isolated = places.person(session, "隔离", at=home)
    released = places.person(session, "解除", at=home)
    elsewhere = places.person(session, "荷塘", area_path=places.area(session, "430202").path)
    since = NOW - timedelta(days=2)
    world.order(session, monitored, kind="home_monitoring", since=since, status="active")
    world.order(session, isolated, kind="home_monitoring", since=since, status="active")
    world.order(session, isolated, kind="centralised", since=NOW, status="active")
    world.order(session, released, kind="centralised", since=since, status="released")
    building_id = home.building_id
    world.designation(
        session, level="high", since=since, area_path=home.area_path, building_id=building_id
    )
    world.designation(session, level="medium", since=NOW, area_path=home.area_path)
    world.designation(
        session, level="high", since=NOW, area_path="/43/4302/430202/", status="lifted"
    )
    ids = [monitored.id, isolated.id, released.id, elsewhere.id]

    isolation = providers.isolation_facts(session=session, person_ids=ids, now=NOW)
    areas = providers.area_facts(session=session, person_ids=ids, now=NOW)

    assert isolation == {
        monitored.id: IsolationFacts(Supervision.HEALTH_MONITORING, since),
        isolated.id: IsolationFacts(Supervision.CENTRALISED_ISOLATION, NOW),
    }
    assert areas == {
        pid: AreaFacts(residence_risk=RiskLevel.HIGH, residence_risk_since=since)
        for pid in (monitored.id, isolated.id, released.id)
    }


def test_it_recomputes_affected_people_from_the_tables(session: Session) -> None:
    home = _home(session)
    absent = places.person(session, "未检", at=home)
    world.campaign(
        session,
        area_code=JIANNING,
        starts_at=NOW - timedelta(days=2),
        ends_at=NOW - timedelta(days=1),
        closed=True,
    )
    pack = section("zhuzhou-2022-11")

    first = service.recompute_affected(session=session, person_ids=[absent.id], now=NOW, pack=pack)
    code = session.get(HealthCode, absent.id)
    assert first.changed == (absent.id,)
    assert code is not None and (code.colour, code.reasons) == (
        "yellow",
        ["skipped_required_round"],
    )

    world.tube(session, [absent], sampled_at=NOW, result=None)
    later = NOW + timedelta(minutes=1)
    again = service.recompute_affected(
        session=session, person_ids=[absent.id], now=later, pack=pack
    )
    session.refresh(code)
    assert again.changed == (absent.id,)
    assert code.colour == "green"


def test_it_reads_vaccination_for_display(session: Session) -> None:
    home = _home(session)
    twice = places.person(session, "两针", at=home)
    never = places.person(session, "未种", at=home)
    world.dose(session, twice, 1, date(2021, 5, 1), NOW)
    world.dose(session, twice, 2, date(2021, 6, 1), NOW)

    found = providers.vaccination_of(session=session, person_ids=[twice.id, never.id])

    assert found == {
        twice.id: providers.Vaccination(2, date(2021, 6, 1)),
        never.id: providers.Vaccination(0, None),
    }
