"""Resident self-check (自查): own scans and entered stays against confirmed case trajectories;
the answer reveals nothing of the case; throttled per account; another person's data is never
used; refusals change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.models import User
from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.registry.models import Person
from fangkong.tracing import actions, rules, service
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import SelfCheckAttempt
from tests import places
from tests.personas import LUSONG, Personas, login
from tests.tracing.world import NOW, SAMPLED, World, build, epidemiologist, open_case

API = "/api/v1/tracing/self-check"
VISIT = SAMPLED - timedelta(hours=20)  # the case at the market: 7 Nov, 13:30 in Zhuzhou
REPORT = {
    "advice": "report_and_test",
    "message": (
        "Report to your community (residents' committee) today, stay at home until they call "
        "you back, take a nucleic acid test and watch for fever or cough."
    ),
}
NO_OVERLAP = {
    "overlap": False,
    "matches": [],
    "advice": "no_overlap",
    "message": (
        "None of the places checked overlapped a case. Keep scanning place codes and check "
        "again if new cases are announced."
    ),
}


@pytest.fixture(autouse=True)
def manual() -> Iterator[ManualClock]:
    with use_clock(ManualClock(NOW)) as installed:
        assert isinstance(installed, ManualClock)
        yield installed


def outbreak(session: Session, personas: Personas, *, confirm: bool = True) -> World:
    place = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, place.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    if confirm:
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    session.flush()
    return place


def resident(personas: Personas, person: Person) -> dict[str, str]:
    return personas.bearer(personas.user(f"r-{person.id}", Role.RESIDENT, person_id=person.id))


def attempts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SelfCheckAttempt)) or 0)


def audits(session: Session) -> int:
    stmt = select(func.count()).where(AuditEvent.action == "tracing.self_check")
    return int(session.scalar(stmt) or 0)


def test_a_resident_whose_scan_overlapped_the_case_is_told_the_place_day_and_what_to_do(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = outbreak(session, personas)

    answer = client.post(API, json={}, headers=resident(personas, place.shopper))

    assert answer.status_code == 200
    assert answer.json() == {
        "overlap": True,
        "matches": [{"place": "芦淞服装城", "day": "2022-11-07"}],
        **REPORT,
    }
    assert place.case_person.name not in answer.text
    assert "person" not in answer.text and "case" not in answer.text
    assert attempts(session) == 1
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "tracing.self_check")
    ).one()
    assert event.subject_id == str(place.shopper.id)
    assert event.after == {"scans_checked": 1, "places_checked": 0, "overlaps": 1}


def test_no_overlap_when_the_scan_came_after_the_case_left_or_the_trajectory_is_a_draft(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = outbreak(session, personas, confirm=False)
    shopper = resident(personas, place.shopper)
    late = resident(personas, place.late_shopper)

    draft = client.post(API, json={}, headers=shopper)
    case = service.active_case_of(session=session, person_id=place.case_person.id)
    assert case is not None
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    actions.confirm_investigation(
        session=session, actor=epidemiologist(personas), investigation_id=investigation.id
    )
    three_hours_later = client.post(API, json={}, headers=late)

    assert draft.json() == NO_OVERLAP
    assert three_hours_later.json() == NO_OVERLAP


def test_an_entered_stay_at_the_venue_or_a_district_day_overlaps_named_by_what_was_entered(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = outbreak(session, personas)
    late = resident(personas, place.late_shopper)
    district = places.area(session, LUSONG)
    stay = {
        "venue_id": place.market.id,
        "start": (VISIT - timedelta(minutes=15)).isoformat(),
        "end": (VISIT + timedelta(minutes=5)).isoformat(),
    }
    other_day = {"area_id": district.id, "day": "2022-11-05"}

    at_venue = client.post(API, json={"venues": [stay]}, headers=late)
    in_district = client.post(
        API, json={"areas": [{"area_id": district.id, "day": "2022-11-07"}]}, headers=late
    )
    wrong_day = client.post(API, json={"areas": [other_day]}, headers=late)

    assert at_venue.json() == {
        "overlap": True,
        "matches": [{"place": "芦淞服装城", "day": "2022-11-07"}],
        **REPORT,
    }
    assert in_district.json() == {
        "overlap": True,
        "matches": [{"place": district.name, "day": "2022-11-07"}],
        **REPORT,
    }
    assert "芦淞服装城" not in in_district.text  # the case's venue stays undisclosed
    assert wrong_day.json() == NO_OVERLAP


def test_another_persons_scans_and_the_callers_own_case_are_never_used(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = outbreak(session, personas)

    # The body has no person field: naming the shopper (who overlapped) changes nothing.
    late = client.post(
        API, json={"person_id": place.shopper.id}, headers=resident(personas, place.late_shopper)
    )
    own_case = client.post(API, json={}, headers=resident(personas, place.case_person))
    staff = client.post(API, json={}, headers=personas.bearer(epidemiologist_user(personas)))

    assert late.json() == NO_OVERLAP
    assert own_case.json() == NO_OVERLAP
    assert staff.status_code == 403
    assert attempts(session) == 2


def epidemiologist_user(personas: Personas) -> User:
    return personas.user(f"epi-{LUSONG}", Role.EPIDEMIOLOGIST, LUSONG)


def test_the_eleventh_check_within_an_hour_is_refused_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas, manual: ManualClock
) -> None:
    place = outbreak(session, personas)
    shopper = resident(personas, place.shopper)
    for _ in range(rules.SELF_CHECK_PER_ACCOUNT):
        assert client.post(API, json={}, headers=shopper).status_code == 200

    refused = client.post(API, json={}, headers=shopper)
    stored, audited = attempts(session), audits(session)
    manual.advance(timedelta(hours=1, seconds=1))
    later = client.post(API, json={}, headers=shopper)

    assert refused.status_code == 429
    assert refused.json()["code"] == str(TracingErrorCode.SELF_CHECK_THROTTLED)
    assert (stored, audited) == (10, 10)
    assert later.status_code == 200
    assert later.json()["overlap"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"areas": [{"area_id": 1, "day": "2022-11-08"}] * (rules.SELF_CHECK_MAX_ITEMS + 1)},
            TracingErrorCode.SELF_CHECK_TOO_MANY_ITEMS,
        ),
        (
            {
                "venues": [
                    {"venue_id": 0, "start": "2022-11-07T00:00:00Z", "end": "2022-11-08T01:00:00Z"}
                ]
            },
            TracingErrorCode.SELF_CHECK_SPAN_TOO_LONG,
        ),
        (
            {
                "venues": [
                    {"venue_id": 0, "start": "2022-11-07T02:00:00Z", "end": "2022-11-07T01:00:00Z"}
                ]
            },
            TracingErrorCode.SELF_CHECK_ITEM_INVALID,
        ),
        (
            {
                "venues": [
                    {"venue_id": 0, "start": "2022-11-07T01:00:00", "end": "2022-11-07T02:00:00"}
                ]
            },
            TracingErrorCode.SELF_CHECK_ITEM_INVALID,
        ),
        (
            {"areas": [{"area_id": 1, "day": "2022-10-20"}]},
            TracingErrorCode.SELF_CHECK_OUT_OF_WINDOW,
        ),
        (
            {
                "venues": [
                    {
                        "venue_id": 999_999,
                        "start": "2022-11-07T01:00:00Z",
                        "end": "2022-11-07T02:00:00Z",
                    }
                ]
            },
            TracingErrorCode.SELF_CHECK_UNKNOWN_VENUE,
        ),
        (
            {"areas": [{"area_id": 999_999, "day": "2022-11-08"}]},
            TracingErrorCode.SELF_CHECK_UNKNOWN_AREA,
        ),
    ],
)
def test_a_bad_itinerary_is_refused_with_its_code_and_stores_nothing(
    client: TestClient, session: Session, personas: Personas, body: dict[str, object], code: str
) -> None:
    place = outbreak(session, personas)

    answer = client.post(API, json=body, headers=resident(personas, place.shopper))

    assert answer.status_code == 400
    assert answer.json()["code"] == str(code)
    assert (attempts(session), audits(session)) == (0, 0)


def test_the_phone_page_checks_an_entered_place_and_shows_the_advice(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = outbreak(session, personas)
    user = personas.user("late-resident", Role.RESIDENT, person_id=place.late_shopper.id)
    csrf = login(client, user.username)

    page = client.get("/self-check")
    answer = client.post(
        "/self-check",
        data={
            "csrf_token": csrf,
            "venue_id": str(place.market.id),
            "day": "2022-11-07",
            "start": "13:00",
            "end": "14:00",
        },
    )
    bad = client.post(
        "/self-check",
        data={"csrf_token": csrf, "venue_id": str(place.market.id), "day": "2022-11-07"},
    )

    assert page.status_code == 200
    assert 'action="/self-check"' in page.text and "/self-check" in page.text
    assert answer.status_code == 200
    assert 'data-overlap="yes"' in answer.text
    assert "芦淞服装城 · 2022-11-07" in answer.text
    assert place.case_person.name not in answer.text
    assert bad.status_code == 400
    assert 'data-code="selfcheck.item_invalid"' in bad.text
    assert attempts(session) == 1
