"""The required population of a round: residents in scope minus the people excused from it
(centralised isolation, cases in care). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.healthcode.facts import SkippedRound
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Person
from fangkong.testing import monitoring, rules, service
from fangkong.tracing.models import Case
from tests.personas import JIANNING, Personas
from tests.testing.small_city import T0, SmallCity
from tests.testing.test_monitoring import a_round, officer


def _order(session: Session, person: Person, *, kind: str, status: str = "active") -> None:
    session.add(
        IsolationOrder(
            person_id=person.id,
            household_id=person.household_id,
            area_path=person.area_path,
            category="close_contact",
            kind=kind,
            phase_index=0,
            anchor_at=T0,
            phase_started_at=T0,
            planned_end_at=T0 + timedelta(days=5),
            status=status,
            pack_id="cn-9",
            pack_version=1,
            rule_id="iso.close",
            created_at=T0,
            updated_at=T0,
        )
    )
    session.flush()


def _case(session: Session, person: Person, *, status: str) -> None:
    session.add(
        Case(
            person_id=person.id,
            active_person_id=None if status == "void" else person.id,
            area_path=person.area_path,
            kind="confirmed",
            status=status,
            detection_route="mass_round",
            reported_at=T0,
            created_at=T0,
            updated_at=T0,
        )
    )
    session.flush()


def excusing_round(session: Session) -> SmallCity:
    """:func:`a_round` (9 of 16 sampled) where, among the unsampled: 2栋's A2-0-1 is in
    centralised isolation and A2-1-0 in hospital; B1's four are still required although one is
    isolated at home, one had a centralised order that ended, one is a discharged case and one
    a case just reported (not yet in care)."""
    city = a_round(session)
    a2, b1 = city.people["A2"], city.people["B1"]
    _order(session, a2[1], kind="centralised")
    _case(session, a2[2], status="in_hospital")
    _order(session, b1[0], kind="home_isolation")
    _order(session, b1[1], kind="centralised", status="released")
    _case(session, b1[2], status="discharged")
    _case(session, b1[3], status="reported")
    return city


def test_people_in_centralised_isolation_or_in_hospital_are_not_required(
    session: Session, personas: Personas
) -> None:
    city = excusing_round(session)
    actor = officer(personas)
    district = monitoring.coverage(session=session, actor=actor, campaign_id=city.campaign.id)
    assert (district.total.required, district.total.sampled) == (14, 9)
    streets = {row.area_code: (row.required, row.sampled) for row in district.rows if row.required}
    assert streets == {JIANNING: (10, 9), "430203004": (4, 0)}
    street = monitoring.coverage(
        session=session, actor=actor, campaign_id=city.campaign.id, area_code=JIANNING
    )
    assert [(row.label, row.required, row.sampled, row.missing) for row in street.rows] == [
        ("荷花小区 1栋", 8, 8, 0),
        ("荷花小区 2栋", 2, 1, 1),
    ]
    now = T0 + timedelta(hours=3)
    progress = monitoring.completion(
        session=session, actor=actor, campaign_id=city.campaign.id, now=now
    )
    # 5 sampled in the last hour, 5 left: one more hour.
    assert progress == rules.Completion(14, 9, 5, now + timedelta(hours=1))


def test_the_not_tested_list_leaves_out_excused_people(
    session: Session, personas: Personas
) -> None:
    city = excusing_round(session)
    listed = monitoring.not_tested(
        session=session,
        actor=actor_for(personas.grid_worker()),
        campaign_id=city.campaign.id,
        building_id=city.buildings["A2"].id,
    )
    assert [person.name for person in listed.people] == ["A2-1-1"]
    assert listed.required == 2


def test_excused_people_never_skipped_a_round(session: Session, personas: Personas) -> None:
    city = excusing_round(session)
    closed_at = T0 + timedelta(hours=24)
    with use_clock(ManualClock(closed_at)):
        service.close_campaign(
            session=session, actor=officer(personas), campaign_id=city.campaign.id
        )
    skipped = monitoring.list_skipped(session=session, campaign_id=city.campaign.id)
    round_id = f"testing:{city.campaign.id}"
    assert skipped == [
        (person, SkippedRound(round_id=round_id, closed_at=closed_at))
        for person in sorted([city.ids("A2")[3], *city.ids("B1")])
    ]


@pytest.mark.parametrize(
    ("status", "required"),
    [
        ("transferred", 15),
        ("in_hospital", 15),
        ("in_shelter_hospital", 15),
        ("reported", 16),
        ("discharged", 16),
        ("void", 16),
    ],
)
def test_which_case_statuses_excuse_a_person(
    session: Session, personas: Personas, status: str, required: int
) -> None:
    city = a_round(session)
    _case(session, city.people["B1"][0], status=status)
    district = monitoring.coverage(
        session=session, actor=officer(personas), campaign_id=city.campaign.id
    )
    assert district.total.required == required
