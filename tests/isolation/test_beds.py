"""Beds: capacity by facility state, the forecast of beds needed, the reserve warning (pure
rules and in the database), and the pure transfer and check-in rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.isolation import actions, service
from fangkong.isolation.enums import (
    Category,
    DestinationKind,
    FacilityStatus,
    PhaseKind,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.rules import (
    FacilityBeds,
    checkin_expected,
    common_area_path,
    destination_fits,
    forecast_beds,
    is_transfer_overdue,
    needs_follow_up,
    reserve_warning,
    transfer_deadline,
)
from tests import places
from tests.personas import LUSONG, Personas

TODAY = date(2022, 11, 12)
NOON = datetime(2022, 11, 12, 4, tzinfo=UTC)


def test_it_forecasts_beds_from_end_dates_pending_people_and_the_trend() -> None:
    forecast = forecast_beds(
        occupied_until=[TODAY + timedelta(days=2), TODAY + timedelta(days=5)],
        pending=3,
        recent_arrivals=[1, 2, 3],
        stay_days=7,
        today=TODAY,
        days=4,
    )

    assert [(d.day.day, d.staying, d.arriving, d.needed) for d in forecast.days] == [
        (12, 2, 3, 5),
        (13, 2, 5, 7),
        (14, 1, 7, 8),
        (15, 1, 9, 10),
    ]
    assert (forecast.peak.day, forecast.peak.needed) == (date(2022, 11, 15), 10)
    assert forecast.explanation == (
        "2 in rooms leave on their phase's end; 3 pending arrive today; 2.0 a day arrive after "
        "that (mean of the last 3 days); each stays 7 days"
    )


def test_it_lets_pending_people_leave_after_their_stay() -> None:
    forecast = forecast_beds(
        occupied_until=[TODAY + timedelta(days=2), TODAY + timedelta(days=5)],
        pending=3,
        recent_arrivals=[1, 2, 3],
        stay_days=2,
        today=TODAY,
        days=4,
    )

    assert [d.needed for d in forecast.days] == [5, 7, 5, 5]
    assert forecast.peak.day == date(2022, 11, 13)


@pytest.mark.parametrize(
    ("_case", "pending", "short", "left"),
    [("enough left", 10, False, 6), ("below the reserve", 13, True, 3)],
)
def test_it_warns_when_the_reserve_runs_short(
    _case: str, pending: int, short: bool, left: int
) -> None:
    facilities = [
        FacilityBeds(1, "A", FacilityStatus.IN_USE, beds=10, occupied=2),
        FacilityBeds(2, "B", FacilityStatus.CLEANING, beds=4, occupied=0),
        FacilityBeds(3, "C", FacilityStatus.RESERVE, beds=6, occupied=0),
    ]
    forecast = forecast_beds(
        occupied_until=[], pending=pending, recent_arrivals=[], stay_days=7, today=TODAY, days=3
    )

    warning = reserve_warning(facilities=facilities, forecast=forecast, share=0.2)

    assert [(f.free, f.cleaning, f.reserve) for f in facilities] == [
        (8, 0, 0),
        (0, 4, 0),
        (0, 0, 6),
    ]
    assert (warning.is_short, warning.usable, warning.left_at_peak, warning.minimum_left) == (
        short,
        16,
        left,
        4,
    )
    verdict = "below" if short else "at or above"
    assert warning.explanation == (
        f"peak of {pending} beds on 2022-11-12: 16 usable beds leave {left}, {verdict} the "
        "reserve of 4 (20% of 20)"
    )


def test_it_sets_transfer_deadlines_and_destinations() -> None:
    assert transfer_deadline(
        kind=TransferKind.POSITIVE, planned_at=NOON, positive_hours=2, contact_hours=12
    ) == (NOON + timedelta(hours=2), "setting:transfer_positive_hours=2")
    assert transfer_deadline(
        kind=TransferKind.CONTACT, planned_at=NOON, positive_hours=2, contact_hours=12.5
    ) == (NOON + timedelta(hours=12.5), "setting:transfer_contact_hours=12.5")
    assert [
        destination_fits(kind=kind, destination=destination)
        for kind in TransferKind
        for destination in DestinationKind
    ] == [True, True, False, False, False, True]
    assert [
        is_transfer_overdue(status=status, deadline_at=NOON, now=NOON + timedelta(seconds=1))
        for status in TransferStatus
    ] == [True, True, True, False]
    assert not is_transfer_overdue(status=TransferStatus.PLANNED, deadline_at=NOON, now=NOON)


def test_it_decides_check_in_flags_and_days() -> None:
    assert [
        needs_follow_up(temperature=t, symptoms=s, fever_at=37.3)
        for t, s in ((37.2, []), (37.3, []), (36.5, ["cough"]))
    ] == [False, True, True]
    assert [
        checkin_expected(kind=kind, phase_started_on=TODAY, day=day)
        for kind in PhaseKind
        for day in (TODAY - timedelta(days=1), TODAY)
    ] == [False, False, False, True, False, True]
    assert common_area_path(["/43/4302/430203/", "/43/4302/430202/1/"]) == "/43/4302/"
    assert common_area_path(["/43/4302/430203/"]) == "/43/4302/430203/"
    assert common_area_path([]) == "/"


def test_it_reports_capacity_forecast_and_reserve_in_the_database(
    session: Session, personas: Personas
) -> None:
    actor = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    exposed = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)
    with clock.use_clock(clock.ManualClock(exposed + timedelta(hours=20))):  # 07-02 06:00 local
        in_use = service.create_facility(
            session=session,
            actor=actor,
            name="A 隔离点",
            area_code=LUSONG,
            status=FacilityStatus.IN_USE,
        )
        reserve = service.create_facility(
            session=session,
            actor=actor,
            name="B 储备",
            area_code=LUSONG,
            status=FacilityStatus.RESERVE,
        )
        room = service.add_room(
            session=session, actor=actor, facility_id=in_use.id, label="101", capacity=2
        )
        service.add_room(
            session=session, actor=actor, facility_id=reserve.id, label="1", capacity=3
        )
        orders = []
        for name in ("张三", "李四"):
            home = places.household(
                session, places.building(session, places.compound(session, f"{name}苑"), "1栋")
            )
            orders.append(
                service.create_order(
                    session=session,
                    actor=actor,
                    person_id=places.person(session, name, at=home).id,
                    category=Category.CLOSE_CONTACT,
                    last_exposure_at=exposed,
                    section=service.section_for(pack_id="cn-9", version=None, now=exposed),
                )
            )
        actions.assign_room(session=session, actor=actor, order_id=orders[0].id, room_id=room.id)
        beds, forecast, enough = service.capacity_and_forecast(
            session=session, actor=actor, pending_contacts=2
        )
        _, _, short = service.capacity_and_forecast(
            session=session, actor=actor, pending_contacts=3
        )

    assert [(b.name, b.beds, b.occupied, b.free, b.reserve) for b in beds] == [
        ("A 隔离点", 2, 1, 1, 0),
        ("B 储备", 3, 0, 0, 3),
    ]
    assert [(d.day.isoformat(), d.needed) for d in forecast.days] == [
        ("2022-07-02", 4),
        ("2022-07-03", 4),
        ("2022-07-04", 4),
        ("2022-07-05", 4),
        ("2022-07-06", 4),
        ("2022-07-07", 4),
        ("2022-07-08", 3),
    ]
    assert (enough.is_short, enough.left_at_peak, short.is_short, short.left_at_peak) == (
        False,
        1,
        True,
        0,
    )
