"""Epidemic-free compounds from the platform's records (cases, tubes and results), the page that
lists them, and the layer on the command map (both databases)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.areas import certification
from fangkong.areas.certification_rules import CertStatus
from fangkong.core import clock
from fangkong.registry.models import Compound, Person
from fangkong.testing.enums import LabResult
from fangkong.testing.models import ResultUpload, Tube, TubeMember, TubeResult
from fangkong.tracing.models import Case
from tests import places
from tests.personas import LUSONG, Personas, login

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2022, 5, 15)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE)


def resident(session: Session, compound: Compound, name: str) -> Person:
    household = places.household(session, places.building(session, compound, f"{name}栋"))
    return places.person(session, name, at=household)


def add_case(session: Session, person: Person, day: date) -> None:
    session.add(
        Case(
            person_id=person.id,
            active_person_id=person.id,
            area_path=person.area_path,
            kind="confirmed",
            status="reported",
            detection_route="mass_round",
            sampled_at=at(day),
            reported_at=at(day, 20),
            created_at=at(day, 20),
            updated_at=at(day, 20),
        )
    )
    session.flush()


def sample(session: Session, people: list[Person], day: date, result: LabResult) -> None:
    """One single tube per person sampled on ``day``, with its result."""
    upload = session.query(ResultUpload).first()
    if upload is None:
        upload = ResultUpload(
            content_sha256="0" * 64,
            format="csv",
            filename="r.csv",
            uploaded_at=at(day, 22),
            accepted_count=0,
            stored_count=0,
            duplicate_count=0,
            unmatched_count=0,
            rejected_count=0,
            rejections=[],
        )
        session.add(upload)
        session.flush()
    for person in people:
        barcode = f"T{person.id}-{day.isoformat()}"
        tube = Tube(
            barcode=barcode,
            area_path=person.area_path,
            pool_size=1,
            member_count=1,
            status="resulted",
            opened_at=at(day),
        )
        session.add(tube)
        session.flush()
        session.add(TubeMember(tube_id=tube.id, person_id=person.id, sampled_at=at(day)))
        session.add(
            TubeResult(
                idempotency_key=f"lab|{barcode}",
                upload_id=upload.id,
                tube_id=tube.id,
                tube_barcode=barcode,
                lab_id="lab",
                message_id=barcode,
                result=result.value,
                loinc_code="94500-6",
                ct_values={},
                collected_at=at(day),
                reported_at=at(day, 21),
                stored_at=at(day, 22),
            )
        )
    session.flush()


def test_compounds_are_certified_revoked_or_told_what_they_need(
    session: Session, personas: Personas, client: TestClient
) -> None:
    a = places.compound(session, "甲小区")
    a1, a2 = resident(session, a, "甲一"), resident(session, a, "甲二")
    b = places.compound(session, "乙小区")
    b1 = resident(session, b, "乙一")
    c = places.compound(session, "丙小区")
    c1 = resident(session, c, "丙一")
    resident(session, c, "丙二")  # not sampled: 丙 had no round of everyone
    add_case(session, a1, TODAY - timedelta(days=14))  # the day before A's 14 days
    sample(session, [a1, a2, b1, c1], TODAY - timedelta(days=1), LabResult.NOT_DETECTED)
    sample(session, [b1], TODAY - timedelta(days=2), LabResult.NOT_DETECTED)
    add_case(session, b1, TODAY)  # certified yesterday, revoked today
    user = personas.user("commander", Role.COMMAND_CENTRE, LUSONG)
    section = certification.section_for("shanghai-2022-04")
    assert section is not None

    statuses = certification.compound_statuses(
        session=session,
        actor=actor_for(user),
        path=places.area(session, "430203003").path,
        today=TODAY,
        section=section,
    )

    assert [(s.name, s.residents, s.decision.status, s.decision.explanation) for s in statuses] == [
        ("甲小区", 2, CertStatus.CERTIFIED, (
            "无疫小区: no new infection for 14 days and everyone negative on day 13 "
            "(cert.compound)"
        )),
        ("乙小区", 1, CertStatus.REVOKED, (
            "无疫小区 revoked: a new infection on 2022-05-15 (cert.compound)"
        )),
        ("丙小区", 2, CertStatus.NOT_YET, (
            "无疫小区: needs everyone negative in a round on 2022-05-15"
        )),
    ]  # fmt: skip

    with clock.use_clock(clock.ManualClock(at(TODAY, 12))):
        login(client, "commander")
        page = client.get(
            "/risk-areas/certification",
            params={"day": TODAY.isoformat(), "path": places.area(session, "430203003").path},
        )
        lusong = places.area(session, LUSONG).path
        city_map = client.get("/command/map", params={"path": lusong})

    assert page.status_code == 200
    assert page.text.count('data-status="certified"') == 2  # the count chip and 甲's row
    assert 'data-status="revoked"' in page.text and 'data-status="not_yet"' in page.text
    assert "乙小区" in page.text
    township = places.area(session, "430203003").path
    assert city_map.status_code == 200
    assert f'<g class="certified" data-area="{township}" data-count="1">' in city_map.text


def test_without_a_standard_the_map_has_no_layer_and_the_packs_say_which_have_one() -> None:
    assert certification.packs_with_certification() == ["shanghai-2022-04"]
    assert certification.section_for("zhuzhou-2022-11") is None
