"""Round monitoring on a small synthetic city: exact coverage, lists, estimates, hand-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.scope import Actor
from fangkong.healthcode.facts import SkippedRound
from fangkong.testing import monitoring, rules, service
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import Alert
from tests.personas import HETANG, JIANNING, LUSONG, Personas
from tests.testing import small_city
from tests.testing.hl7_samples import batch, oru
from tests.testing.small_city import T0, SmallCity
from tests.testing.test_effects import DETECTED, NOT_DETECTED, REPORTED, upload


def officer(personas: Personas, area: str = LUSONG, name: str = "lusong-officer") -> Actor:
    return actor_for(personas.user(name, Role.DISTRICT_OFFICER, area))


def a_round(session: Session) -> SmallCity:
    """9 of 16 sampled: 1栋 all 8 (a positive pool and a negative tube), 2栋 1 of 4."""
    city = small_city.build(session, phones=True)
    c = city.campaign.id
    a1, a2 = city.ids("A1"), city.ids("A2")
    small_city.tube(session, "ZZ0001", a1[:4], at=T0 + timedelta(hours=1), campaign_id=c)
    small_city.tube(session, "ZZ0002", a1[4:], at=T0 + timedelta(hours=2), campaign_id=c)
    small_city.tube(session, "ZZ0003", a2[:1], at=T0 + timedelta(minutes=150), campaign_id=c)
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        upload(
            session,
            batch(
                [
                    oru(control_id="M1", tube="ZZ0001", result=DETECTED, reported=REPORTED),
                    oru(control_id="M2", tube="ZZ0002", result=NOT_DETECTED, reported=REPORTED),
                ]
            ).encode(),
        )
    return city


def test_coverage_drills_down_from_district_to_building(
    session: Session, personas: Personas
) -> None:
    city = a_round(session)
    actor = officer(personas)
    district = monitoring.coverage(session=session, actor=actor, campaign_id=city.campaign.id)
    assert (district.total.required, district.total.sampled) == (16, 9)
    streets = {row.area_code: (row.required, row.sampled) for row in district.rows if row.required}
    assert streets == {JIANNING: (12, 9), "430203004": (4, 0)}

    street = monitoring.coverage(
        session=session, actor=actor, campaign_id=city.campaign.id, area_code=JIANNING
    )
    assert [(row.label, row.required, row.sampled, row.building_id) for row in street.rows] == [
        ("荷花小区 1栋", 8, 8, city.buildings["A1"].id),
        ("荷花小区 2栋", 4, 1, city.buildings["A2"].id),
    ]
    assert street.rows[1].missing == 3
    assert street.rows[1].percent == 25.0


def test_a_grid_worker_sees_only_their_part_of_the_round(
    session: Session, personas: Personas
) -> None:
    city = a_round(session)
    worker = actor_for(personas.grid_worker())
    mine = monitoring.coverage(session=session, actor=worker, campaign_id=city.campaign.id)
    assert (mine.path, mine.total.required, mine.total.sampled) == (
        "/43/4302/430203/430203003/",
        12,
        9,
    )
    stranger = officer(personas, HETANG, "hetang-officer")
    with pytest.raises(NotFound):
        monitoring.coverage(session=session, actor=stranger, campaign_id=city.campaign.id)
    assert monitoring.list_campaigns(session=session, actor=stranger) == []
    assert monitoring.list_campaigns(session=session, actor=worker) == [city.campaign]


def test_the_not_tested_list_of_a_building_masks_phones(
    session: Session, personas: Personas
) -> None:
    city = a_round(session)
    worker = actor_for(personas.grid_worker())
    listed = monitoring.not_tested(
        session=session,
        actor=worker,
        campaign_id=city.campaign.id,
        building_id=city.buildings["A2"].id,
    )
    assert [(p.name, p.floor, p.room, p.phone_masked, p.phone) for p in listed.people] == [
        ("A2-0-1", 1, "101", "138****0001", None),
        ("A2-1-0", 2, "201", "138****1000", None),
        ("A2-1-1", 2, "201", "138****1001", None),
    ]
    assert (listed.required, listed.full_numbers) == (4, False)
    full = monitoring.not_tested(
        session=session,
        actor=monitoring_epidemiologist(personas),
        campaign_id=city.campaign.id,
        building_id=city.buildings["A1"].id,
    )
    assert full.people == []  # everyone in 1栋 was sampled; the pool's members await review


def monitoring_epidemiologist(personas: Personas) -> Actor:
    return actor_for(personas.user("lusong-epi", Role.EPIDEMIOLOGIST, LUSONG))


def test_progress_turnaround_and_positive_pools(session: Session, personas: Personas) -> None:
    city = a_round(session)
    actor = officer(personas)
    now = T0 + timedelta(hours=3)
    progress = monitoring.completion(
        session=session, actor=actor, campaign_id=city.campaign.id, now=now
    )
    # 5 sampled since 02:00 (4 + 1), 7 left: 7/5 of an hour.
    assert progress == rules.Completion(16, 9, 5, now + timedelta(minutes=84))
    spread = monitoring.turnaround(session=session, actor=actor, campaign_id=city.campaign.id)
    assert spread == rules.Distribution(2, 16200, 19800, 19800)
    pools = monitoring.positive_pools(session=session, actor=actor, campaign_id=city.campaign.id)
    assert [(p.barcode, p.member_count, p.orders_open, p.orders_done) for p in pools] == [
        ("ZZ0001", 4, 4, 0)
    ]
    counts = monitoring.status_counts(session=session, actor=actor, campaign_id=city.campaign.id)
    assert counts == {"pending_review": 4, "negative": 4}


def test_people_who_skipped_a_closed_round_are_handed_to_health_codes(
    session: Session, personas: Personas
) -> None:
    city = a_round(session)
    actor = officer(personas)
    with pytest.raises(Conflict) as refused:
        monitoring.list_skipped(session=session, campaign_id=city.campaign.id)
    assert refused.value.code == TestingErrorCode.CAMPAIGN_NOT_CLOSED
    closed_at = T0 + timedelta(hours=24)
    with use_clock(ManualClock(closed_at)):
        service.close_campaign(session=session, actor=actor, campaign_id=city.campaign.id)
    skipped = monitoring.list_skipped(session=session, campaign_id=city.campaign.id)
    expected = sorted(city.ids("A2")[1:] + city.ids("B1"))
    assert skipped == [
        (person, SkippedRound(round_id=f"testing:{city.campaign.id}", closed_at=closed_at))
        for person in expected
    ]


def test_an_alert_is_acknowledged_once_inside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    a_round(session)
    worker = actor_for(personas.grid_worker())
    [alert] = monitoring.list_alerts(session=session, actor=worker, open_only=True)
    assert (alert.kind, alert.member_count) == ("positive_pool", 4)
    stranger = officer(personas, HETANG, "hetang-officer")
    assert monitoring.list_alerts(session=session, actor=stranger) == []
    with pytest.raises(NotFound):
        service.acknowledge_alert(session=session, actor=stranger, alert_id=alert.id)
    service.acknowledge_alert(session=session, actor=worker, alert_id=alert.id)
    assert session.get(Alert, alert.id).status == "acknowledged"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        service.acknowledge_alert(session=session, actor=worker, alert_id=alert.id)
    assert monitoring.list_alerts(session=session, actor=worker, open_only=True) == []
    orders = monitoring.list_orders(session=session, actor=worker)
    assert len(orders) == 4


def test_the_staggered_schedule_spreads_floors_over_the_opening_hours(
    session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    actor = officer(personas)
    area, groups = monitoring.floor_groups(
        session=session, actor=actor, campaign_id=city.campaign.id, area_code=JIANNING
    )
    assert area.code == JIANNING
    assert [(g.building_label, g.floor, g.people) for g in groups] == [
        ("荷花小区 1栋", 4, 2),
        ("荷花小区 1栋", 3, 2),
        ("荷花小区 1栋", 2, 2),
        ("荷花小区 1栋", 1, 2),
        ("荷花小区 2栋", 2, 2),
        ("荷花小区 2栋", 1, 2),
    ]
    opens = T0
    slots = rules.stagger(groups, opens=opens, closes=opens + timedelta(hours=1), slot_minutes=20)
    assert [(s.starts - opens, s.people, [g.floor for g in s.groups]) for s in slots] == [
        (timedelta(0), 4, [4, 3]),
        (timedelta(minutes=20), 4, [2, 1]),
        (timedelta(minutes=40), 4, [2, 1]),
    ]


def test_stagger_puts_what_does_not_fit_in_the_last_slot() -> None:
    groups = [rules.FloorGroup(1, "1栋", floor, 5) for floor in (3, 2, 1)]
    slots = rules.stagger(groups, opens=T0, closes=T0 + timedelta(minutes=30), slot_minutes=30)
    assert [(s.people, len(s.groups)) for s in slots] == [(15, 3)]
    with pytest.raises(ValueError):
        rules.stagger(groups, opens=T0, closes=T0, slot_minutes=30)
