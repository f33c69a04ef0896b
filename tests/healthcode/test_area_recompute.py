"""Risk areas reach residents at once: confirming a designation (or lifting it) recomputes the
codes of the people who live under it in the same request, through the change feed."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.healthcode import jobs, providers, service
from fangkong.healthcode.models import HealthCode
from fangkong.registry.models import Building, Household, Person
from tests import places
from tests.areas.test_views import designate, officer_headers
from tests.healthcode import world
from tests.healthcode.test_views import NOW
from tests.personas import Personas


def _residents(session: Session) -> tuple[list[Person], Person, Person]:
    """Two residents of a compound, a resident of another building of it, and a neighbour in
    another compound."""
    compound = places.compound(session, "风险小区")
    first, second = (
        places.building(session, compound, "1栋"),
        places.building(session, compound, "2栋"),
    )
    home = places.household(session, first, "101")
    residents = [places.person(session, "甲", at=home), places.person(session, "乙", at=home)]
    across = places.person(session, "丙", at=places.household(session, second, "201"))
    elsewhere = places.person(
        session,
        "丁",
        at=places.household(
            session, places.building(session, places.compound(session, "别处"), "1栋")
        ),
    )
    return residents, across, elsewhere


def _codes(session: Session, people: list[Person]) -> list[tuple[str, list[str]]]:
    session.expire_all()
    rows = {
        row.person_id: (row.colour, list(row.reasons))
        for row in session.scalars(
            select(HealthCode).where(HealthCode.person_id.in_([p.id for p in people]))
        )
    }
    return [rows[p.id] for p in people]


def test_confirming_a_high_risk_compound_recomputes_its_residents_in_the_same_request(
    client: TestClient, session: Session, personas: Personas
) -> None:
    residents, across, elsewhere = _residents(session)
    people = [*residents, across, elsewhere]
    with clock.use_clock(clock.ManualClock(NOW)):
        service.recompute_affected(session=session, person_ids=[p.id for p in people], now=NOW)
    green = ("green", ["no_risk_found"])
    assert _codes(session, people) == [green] * 4
    headers = officer_headers(personas)

    with clock.use_clock(clock.ManualClock(NOW)):
        designation_id = designate(client, headers, places_compound_id(residents[0], session))
        assert _codes(session, people) == [green] * 4  # proposed only: nothing changes yet
        confirmed = client.post(f"/api/v1/risk-areas/{designation_id}/confirm", headers=headers)

    assert confirmed.status_code == 200, confirmed.text
    red = ("red", ["lives_in_high_risk_area"])
    assert _codes(session, people) == [red, red, red, green]

    with clock.use_clock(clock.ManualClock(NOW + timedelta(hours=1))):
        lifted = client.post(
            f"/api/v1/risk-areas/{designation_id}/lift",
            json={"reason": "no new cases"},
            headers=headers,
        )

    assert lifted.status_code == 200, lifted.text
    assert _codes(session, people) == [green] * 4


def places_compound_id(person: Person, session: Session) -> int:
    home = session.get(Household, person.household_id)
    assert home is not None
    building = session.get(Building, home.building_id)
    assert building is not None
    return building.compound_id


def test_the_change_feed_names_the_residents_of_a_changed_designation(session: Session) -> None:
    residents, across, elsewhere = _residents(session)
    compound_id = places_compound_id(residents[0], session)
    since = NOW - timedelta(minutes=1)
    before = providers.changed_since(session=session, since=since)
    row = world.designation(session, level="high", since=NOW, area_path=across.area_path)
    row.target_kind, row.compound_id, row.scope = "compound", compound_id, "place"
    session.flush()

    found = providers.changed_since(session=session, since=since) - before

    assert found == {residents[0].id, residents[1].id, across.id}
    report = jobs.recompute_changed(session=session, since=since, now=NOW)
    assert (report.evaluated, report.changed) == (3, 3)
    assert service.get(session=session, person_id=elsewhere.id) is None
