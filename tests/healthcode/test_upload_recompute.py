"""A resident who skipped a round is yellow; the lab's negative result turns them green by
itself: the upload recomputes the codes of the people its results touched."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core import clock
from fangkong.healthcode import service
from fangkong.healthcode.models import HealthCode
from fangkong.registry.models import Building, Household
from tests import places
from tests.healthcode import world
from tests.healthcode.test_views import NOW, skipper
from tests.personas import ZHUZHOU, Personas

HEADER = "record_id,lab_id,tube_barcode,loinc_code,result,collected_at,reported_at\n"


def test_a_negative_result_upload_turns_a_skippers_code_green(
    client: TestClient, session: Session, personas: Personas
) -> None:
    person = skipper(session)
    # a neighbour who skipped the same round and has no new result
    home = session.get(Household, person.household_id)
    assert home is not None
    bystander = places.person(
        session,
        "旁人",
        at=places.household(session, session.get(Building, home.building_id), "402"),
    )
    with clock.use_clock(clock.ManualClock(NOW)):
        service.recompute_affected(session=session, person_ids=[person.id, bystander.id], now=NOW)
    code = session.get(HealthCode, person.id)
    assert code is not None and (code.colour, code.reasons) == (
        "yellow",
        ["skipped_required_round"],
    )
    tube = world.tube(session, [person], sampled_at=NOW - timedelta(hours=3), result=None)
    lab = personas.bearer(personas.user("zz-lab-hc", Role.LABORATORY, ZHUZHOU))
    row = (
        f"R1,12430200MB1234567X,{tube.barcode},94500-6,not_detected,"
        f"{(NOW - timedelta(hours=3)).isoformat()},{(NOW - timedelta(minutes=10)).isoformat()}\n"
    )

    with clock.use_clock(clock.ManualClock(NOW)):
        answer = client.post(
            "/api/v1/testing/result-files",
            headers=lab,
            data={"format": "csv"},
            files={"file": ("results.csv", (HEADER + row).encode(), "text/csv")},
        )

    assert answer.status_code == 201, answer.text
    session.refresh(code)
    assert (code.colour, code.reasons) == ("green", ["no_risk_found"])
    untouched = session.get(HealthCode, bystander.id)
    assert untouched is not None and untouched.colour == "yellow"
