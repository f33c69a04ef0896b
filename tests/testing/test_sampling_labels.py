"""Printable registration-code sheets and tube labels: what is printed decodes and verifies."""

from __future__ import annotations

from datetime import UTC, datetime

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
from fangkong.testing.codes import verify_code
from fangkong.testing.errors import TestingErrorCode
from tests.city import City
from tests.personas import JIANNING, Personas

NOW = datetime(2022, 11, 10, 7, 0, tzinfo=UTC)
KEYS = sampling.registration_keys(Settings().code_signing_key)
PRINTED = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128)


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
    pdf = labels.registration_sheet(title=title, labels=printed, printed_at=NOW)

    pages = decoded(pdf)
    assert [len(page) for page in pages] == [21, 2]
    people = set()
    for page in pages:
        for symbology, text in page:
            assert symbology == "QRCode"
            people.add(verify_code(text, public_keys=KEYS.public_keys, now=NOW).person_id)
    assert people == {person.id for person in residents}
    assert printed[0].name_masked == "王*0"
    assert printed[0].address.endswith("3栋 1单元 101室")


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
    assert len(decoded(sheet.content)[0]) == 1
    assert tubes.status_code == 200
    assert len(decoded(tubes.content)[0]) == 5
    assert missing.status_code == 404
