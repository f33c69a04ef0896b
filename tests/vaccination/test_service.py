from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.core.crypto import get_cipher
from fangkong.core.scope import Actor
from fangkong.registry.enums import AreaLevel
from fangkong.vaccination import formats, service
from fangkong.vaccination.enums import DoseSource
from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.models import DoseRecord
from tests.city import City
from tests.personas import LUSONG, Personas

NOW = datetime(2022, 11, 20, 2, 0, tzinfo=UTC)
HEADER = "id_number,product,dose_number,administered_on,site,lot_number\n"


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[clock.ManualClock]:
    with clock.use_clock(clock.ManualClock(NOW)) as manual:
        yield manual


def recorder(personas: Personas) -> Actor:
    return actor_for(personas.user("lusong-health", Role.DISTRICT_OFFICER, LUSONG))


def load(session: Session, actor: Actor, source: DoseSource, content: str) -> object:
    parser = formats.parse_csv if source is DoseSource.CSV else formats.parse_fhir
    doses, problems = parser(content.encode())
    return service.import_doses(
        session=session,
        actor=actor,
        cipher=get_cipher(),
        doses=doses,
        problems=problems,
        source=source,
    )


def immunization(
    id_number: str, cvx: str, dose: int, day: str, status: str = "completed"
) -> dict[str, object]:
    return {
        "resourceType": "Immunization",
        "status": status,
        "patient": {"identifier": {"value": id_number}},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
        "occurrenceDateTime": day,
        "protocolApplied": [{"doseNumberPositiveInt": dose}],
        "location": {"display": "芦淞区建宁街道社区卫生服务中心"},
    }


def test_it_loads_a_csv_in_date_order_and_reports_every_bad_row(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    actor = recorder(personas)
    alice, bob = city.person(), city.person()
    a, b = city.id_numbers[alice.id], city.id_numbers[bob.id]
    content = HEADER + "\n".join(
        [
            f"{a},科兴,2,2021-05-01,建宁社区,L2",
            f"{a},511,1,2021-04-01,建宁社区,L1",
            f"{b},北京生物,1,2020-07-01,建宁社区,",
            f"{b},510,3,2021-06-01,建宁社区,",
            f"{b},辉瑞,1,2021-06-01,建宁社区,",
            "430203000000000000,510,1,2021-06-01,建宁社区,",
            f"{b},510,one,2021-06-01,建宁社区,",
        ]
    )

    report = load(session, actor, DoseSource.CSV, content)

    assert (report.accepted, report.already_present) == (2, 0)  # type: ignore[attr-defined]
    assert sorted((p.record, p.code) for p in report.refused) == [  # type: ignore[attr-defined]
        ("row 4", E.DATE_BEFORE_PRODUCT),
        ("row 5", E.DOSE_OUT_OF_SEQUENCE),
        ("row 6", E.PRODUCT_UNKNOWN),
        ("row 7", E.PERSON_NOT_FOUND),
        ("row 8", E.DOSE_NUMBER_INVALID),
    ]
    status = service.status_for(session=session, person_id=alice.id)
    assert (status.level_name, status.doses, status.last_dose_on) == (
        "full_course",
        2,
        date(2021, 5, 1),
    )
    again = load(session, actor, DoseSource.CSV, content)
    assert (again.accepted, again.already_present) == (0, 2)  # type: ignore[attr-defined]


def test_it_loads_a_fhir_bundle_of_immunizations(session: Session, personas: Personas) -> None:
    city = City(session)
    actor = recorder(personas)
    person = city.person()
    id_number = city.id_numbers[person.id]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": immunization(id_number, "510", 1, "2021-03-01")},
            {"resource": immunization(id_number, "510", 2, "2021-03-29T09:30:00+08:00")},
            {"resource": immunization(id_number, "510", 3, "2021-10-10", status="not-done")},
            {"resource": {"resourceType": "Patient"}},
        ],
    }

    report = load(session, actor, DoseSource.FHIR, json.dumps(bundle))

    assert report.accepted == 2  # type: ignore[attr-defined]
    assert [(p.record, p.code) for p in report.refused] == [  # type: ignore[attr-defined]
        ("entry 3", E.STATUS_NOT_COMPLETED),
        ("entry 4", E.FHIR_RESOURCE_UNSUPPORTED),
    ]
    assert (
        session.scalar(
            select(func.count()).select_from(DoseRecord).where(DoseRecord.source == "fhir")
        )
        == 2
    )


def test_it_refuses_a_file_that_is_not_a_dose_file() -> None:
    with pytest.raises(formats.FileRefused) as wrong_header:
        formats.parse_csv(b"name,age\n")
    with pytest.raises(formats.FileRefused) as not_immunization:
        formats.parse_fhir(b'{"resourceType": "Observation"}')
    assert (wrong_header.value.code, not_immunization.value.code) == (
        E.CSV_HEADER_INVALID,
        E.FHIR_RESOURCE_UNSUPPORTED,
    )


def test_it_reports_coverage_by_age_group_and_lists_the_unvaccinated_elderly(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    actor = recorder(personas)
    grid = city.grid()
    household = city.household(city.building(grid))
    old_full = city.person(household, born=date(1950, 1, 1))
    city.person(household, born=date(1955, 6, 1), name="张奶奶")
    adult_booster = city.person(household, born=date(1990, 1, 1))
    city.person(household, born=date(2021, 1, 1))  # under 3: not eligible
    rows = []
    for person, doses in ((old_full, 2), (adult_booster, 3)):
        for n in range(1, doses + 1):
            rows.append(f"{city.id_numbers[person.id]},510,{n},2021-0{n}-15,建宁社区,")
    load(session, actor, DoseSource.CSV, HEADER + "\n".join(rows))

    table = service.coverage_table(
        session=session, actor=actor, on=date(2022, 11, 20), by=AreaLevel.COUNTY
    )
    lists = service.unvaccinated_elderly(session=session, actor=actor, on=date(2022, 11, 20))

    assert [
        (r.area_path, r.age_group, r.population, r.first_dose, r.full_course, r.booster)
        for r in table
    ] == [
        ("/43/4302/430203/", "18-59", 1, 1, 1, 1),
        ("/43/4302/430203/", "60-69", 1, 0, 0, 0),
        ("/43/4302/430203/", "70-79", 1, 1, 1, 0),
    ]
    assert (table[2].first_dose_gap, table[2].full_course_gap, table[2].booster_gap) == (
        0.05,
        0.1,
        -0.8,
    )
    assert [(g.area_path, [(p.name, p.age) for p in g.persons]) for g in lists] == [
        (grid.path, [("张奶奶", 67)])
    ]
