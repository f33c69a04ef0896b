"""Printable registration-code sheets and tube labels: what is printed decodes and verifies."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pypdfium2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.config import Settings
from fangkong.core.errors import FangkongError
from fangkong.testing import labels, sampling
from fangkong.testing.codes import CodeKind, verify_code
from fangkong.testing.errors import TestingErrorCode
from tests.city import City
from tests.personas import JIANNING, Personas

NOW = datetime(2022, 11, 10, 7, 0, tzinfo=UTC)
KEYS = sampling.registration_keys(Settings().code_signing_key)
PRINTED = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128)
SCALE = 3


def decoded(pdf: bytes) -> list[list[tuple[str, str]]]:
    """(format, text) of every barcode on every page, page by page.

    Only the two symbologies the sheets print are decoded: with every format enabled zxing-cpp
    can read a stray short linear symbol (Codabar) out of printed text."""
    pages = []
    for page in pypdfium2.PdfDocument(pdf):
        image = page.render(scale=3).to_pil()
        pages.append(
            [
                (barcode.format.name, barcode.text)
                for barcode in zxingcpp.read_barcodes(image, formats=PRINTED)
            ]
        )
    return pages


def test_a_building_sheet_has_one_verifiable_code_per_resident(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    building = city.building(label="3栋")
    residents = [
        city.person(city.household(building, room=f"{n + 101}"), name=f"王小{n}") for n in range(23)
    ]
    worker = actor_for(personas.grid_worker())

    title, printed = labels.building_labels(
        session=session, actor=worker, building_id=building.id, keys=KEYS, now=NOW
    )
    pdf = labels.registration_sheet(title=title, households=printed, printed_at=NOW)

    pages = decoded(pdf)
    # 23 one-person doors, a row each (household code + person code), 7 rows to a page.
    assert [len(page) for page in pages] == [14, 14, 14, 4]
    people = set()
    households = set()
    for page in pages:
        for symbology, text in page:
            assert symbology == "QRCode"
            code = verify_code(text, public_keys=KEYS.public_keys, now=NOW)
            if code.kind is CodeKind.HOUSEHOLD:
                households.add(code.household_id)
            else:
                people.add(code.person_id)
    assert people == {person.id for person in residents}
    assert households == {person.household_id for person in residents}
    assert printed[0].members[0].name_masked == "王*0"
    assert printed[0].address.endswith("3栋 1单元 101室")


def test_the_sheet_goes_door_by_door_with_each_household_code_first(
    session: Session, personas: Personas
) -> None:
    city = City(session)
    building = city.building(label="5栋")
    doors = [city.household(building, room=room) for room in ("101", "102", "201")]
    family = [
        city.person(doors[0], name="李大", born=date(1985, 3, 1)),
        city.person(doors[0], name="李小", born=date(2016, 6, 1)),
        city.person(doors[0], name="李老", born=date(1950, 1, 1)),
    ]
    flat = [city.person(doors[1], name=f"张{n}", born=date(1990 + n, 1, 1)) for n in range(5)]
    elder = [city.person(doors[2], name="赵老", born=date(1940, 2, 2))]
    worker = actor_for(personas.grid_worker())

    title, printed = labels.building_labels(
        session=session, actor=worker, building_id=building.id, keys=KEYS, now=NOW
    )
    pdf = labels.registration_sheet(title=title, households=printed, printed_at=NOW)

    placed = []
    for page_number, page in enumerate(pypdfium2.PdfDocument(pdf)):
        image = page.render(scale=SCALE).to_pil()
        for barcode in zxingcpp.read_barcodes(image, formats=PRINTED):
            x = barcode.position.top_left.x / SCALE - labels.CODE_MARGIN_X
            y = barcode.position.top_left.y / SCALE - labels.CODE_MARGIN_Y
            cell = (page_number, int(y // labels.CODE_HEIGHT), int(x // labels.CODE_WIDTH))
            placed.append((cell, verify_code(barcode.text, public_keys=KEYS.public_keys, now=NOW)))
    placed.sort(key=lambda item: item[0])

    def door(household_id: int, presenter: int, members: list[int]) -> list[tuple[str, ...]]:
        return [("household", str(household_id), str(presenter), *map(str, members))] + [
            ("person", str(household_id), str(member)) for member in members
        ]

    expected = (
        door(doors[0].id, family[0].id, [p.id for p in family])
        + door(doors[1].id, flat[0].id, [p.id for p in flat])
        + door(doors[2].id, elder[0].id, [elder[0].id])
    )
    assert [
        (
            "household" if code.kind is CodeKind.HOUSEHOLD else "person",
            str(code.household_id),
            str(code.person_id),
            *map(str, code.member_ids),
        )
        for _, code in placed
    ] == expected
    # Each door starts a row: 101 fills row 0 and the first cell of row 1; 102 (6 labels) rows
    # 2-3; 201 row 4.
    assert [cell for cell, _ in placed] == [
        (0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0),
        (0, 2, 0), (0, 2, 1), (0, 2, 2), (0, 3, 0), (0, 3, 1), (0, 3, 2),
        (0, 4, 0), (0, 4, 1),
    ]  # fmt: skip


def test_the_presenter_is_the_eldest_working_age_adult() -> None:
    today = date(2022, 11, 10)
    family = [(1, date(2015, 1, 1)), (2, date(1990, 1, 1)), (3, date(1980, 1, 1))]
    assert labels.presenter(family, today=today) == 3
    assert labels.presenter([(1, date(2015, 1, 1)), (2, date(1940, 1, 1))], today=today) == 2
    assert labels.presenter([(1, date(2004, 11, 11)), (2, date(1950, 1, 1))], today=today) == 2
    assert labels.presenter([(1, date(2004, 11, 10)), (2, date(1950, 1, 1))], today=today) == 1
    assert labels.presenter([(7, None), (8, None)], today=today) == 7


def test_a_building_outside_the_jurisdiction_is_not_found(
    session: Session, personas: Personas
) -> None:
    building = City(session).building()
    stranger = actor_for(personas.user("hetang-grid", Role.GRID_WORKER, "430202"))

    with pytest.raises(FangkongError) as error:
        labels.building_labels(
            session=session, actor=stranger, building_id=building.id, keys=KEYS, now=NOW
        )

    assert error.value.code == TestingErrorCode.BUILDING_NOT_FOUND


def test_tube_labels_are_sequential_code_128_barcodes() -> None:
    barcodes = labels.tube_barcodes(prefix="ZZ43", start=998, count=50)

    pdf = labels.tube_label_sheet(barcodes=barcodes, printed_at=NOW)

    pages = decoded(pdf)
    assert barcodes[:3] == ["ZZ4300000998", "ZZ4300000999", "ZZ4300001000"]
    assert [len(page) for page in pages] == [48, 2]
    assert {symbology for page in pages for symbology, _ in page} == {"Code128"}
    assert sorted(text for page in pages for _, text in page) == barcodes


@pytest.mark.parametrize(
    ("prefix", "start", "count", "code"),
    [
        ("ZZ", 0, 0, TestingErrorCode.LABEL_RANGE_INVALID),
        ("ZZ", -1, 5, TestingErrorCode.LABEL_RANGE_INVALID),
        ("ZZ", 0, labels.MAX_TUBE_LABELS + 1, TestingErrorCode.LABEL_RANGE_INVALID),
        ("管码", 0, 5, TestingErrorCode.TUBE_ID_INVALID),
    ],
)
def test_a_bad_label_range_is_refused(prefix: str, start: int, count: int, code: str) -> None:
    with pytest.raises(FangkongError) as error:
        labels.tube_barcodes(prefix=prefix, start=start, count=count)

    assert error.value.code == code


def test_the_label_pages_serve_pdfs_within_the_jurisdiction(
    session: Session, personas: Personas, client: TestClient
) -> None:
    city = City(session)
    building = city.building()
    city.person(city.household(building))
    worker = personas.user("jianning-organiser", Role.GRID_WORKER, JIANNING)
    headers = personas.bearer(worker)

    sheet = client.get(f"/sampling/labels/buildings/{building.id}.pdf", headers=headers)
    tubes = client.get(
        "/sampling/labels/tubes.pdf", params={"prefix": "ZZ43", "count": 5}, headers=headers
    )
    missing = client.get("/sampling/labels/buildings/999999.pdf", headers=headers)

    assert (sheet.status_code, sheet.headers["content-type"]) == (200, "application/pdf")
    assert len(decoded(sheet.content)[0]) == 2  # the household code and the person code
    assert tubes.status_code == 200
    assert len(decoded(tubes.content)[0]) == 5
    assert missing.status_code == 404
