"""The vaccination pages through the TestClient: import with a per-record report, coverage
tables with their bar charts, the unvaccinated elderly of each grid."""

from __future__ import annotations

import json
import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from tests.city import City
from tests.personas import LUSONG, Personas, login

HEADER = "id_number,product,dose_number,administered_on,site,lot_number\n"
ON = date(2022, 11, 20)


def test_it_imports_doses_then_shows_coverage_with_charts_and_the_unvaccinated_elderly(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    grid = city.grid()
    household = city.household(city.building(grid))
    elder = city.person(household, born=date(1950, 1, 1), name="李爷爷")
    city.person(household, born=date(1955, 6, 1), name="张奶奶")
    adult = city.person(household, born=date(1990, 1, 1))
    personas.user("lusong-health", Role.DISTRICT_OFFICER, LUSONG)
    csv_rows = [
        f"{city.id_numbers[elder.id]},510,1,2021-03-15,建宁社区,",
        f"{city.id_numbers[elder.id]},510,2,2021-04-15,建宁社区,",
        f"{city.id_numbers[adult.id]},510,1,2021-03-15,建宁社区,",
        f"{city.id_numbers[adult.id]},510,3,2021-05-15,建宁社区,",  # skips dose 2
        f"{city.id_numbers[adult.id]},510,2,2019-01-15,建宁社区,",  # before the product existed
    ]
    fhir = {
        "resourceType": "Immunization",
        "status": "completed",
        "patient": {"identifier": {"value": city.id_numbers[adult.id]}},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "510"}]},
        "occurrenceDateTime": "2021-04-20",
        "protocolApplied": [{"doseNumberPositiveInt": 2}],
    }

    csrf = login(client, "lusong-health")
    form = client.get("/vaccination/import")
    from_csv = client.post(
        "/vaccination/import",
        data={"csrf_token": csrf, "source": "csv"},
        files={"file": ("doses.csv", (HEADER + "\n".join(csv_rows)).encode(), "text/csv")},
    )
    from_fhir = client.post(
        "/vaccination/import",
        data={"csrf_token": csrf, "source": "fhir"},
        files={"file": ("dose.json", json.dumps(fhir).encode(), "application/json")},
    )
    coverage = client.get(f"/vaccination/coverage?on={ON.isoformat()}&by=county")
    by_grid = client.get(f"/vaccination/coverage?on={ON.isoformat()}&by=grid")
    unvaccinated = client.get(f"/vaccination/unvaccinated?on={ON.isoformat()}")

    assert form.status_code == 200 and 'name="source"' in form.text
    assert re.findall(r'data-count="(\w+)">(\d+)<', from_csv.text) == [
        ("accepted", "3"),
        ("already", "0"),
        ("refused", "2"),
    ]
    assert sorted(re.findall(r'<tr data-code="([\w.]+)"', from_csv.text)) == [
        "vaccination.date_before_product",
        "vaccination.dose_out_of_sequence",
    ]
    assert re.findall(r'data-count="(\w+)">(\d+)<', from_fhir.text)[0] == ("accepted", "1")
    totals = coverage.text.split('id="totals"')[1].split("</section>")[0]
    elderly_60 = re.search(r'data-age-group="60-69">(.*?)</tr>', totals, re.S)
    elderly_70 = re.search(r'data-age-group="70-79">(.*?)</tr>', totals, re.S)
    assert elderly_60 is not None and elderly_70 is not None
    assert 'data-level="first" class="below">0 · 0.0%' in elderly_60.group(1)
    assert 'data-level="full" >1 · 100.0%' in elderly_70.group(1)
    assert elderly_70.group(1).count("<svg") == 1 and 'data-rate="1.0"' in elderly_70.group(1)
    assert "<script" not in coverage.text.split("<main")[1]
    assert f'data-area="{grid.path}"' in by_grid.text
    assert re.findall(r'data-person="\d+"><a href="/persons/\d+">([^<]+)<', unvaccinated.text) == [
        "张奶奶"
    ]
