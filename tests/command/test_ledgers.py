"""The daily work ledger (工作台账): exact counts per district and per street on the small
outbreak of tests/command/outbreak.py, its exports, and its jurisdiction; on both databases."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.command import ledgers
from fangkong.core import clock
from fangkong.core.errors import PermissionDenied
from fangkong.isolation.models import TransferTask
from fangkong.logistics.models import DeliveryTask
from tests import places
from tests.command.outbreak import (
    CITY_PATH,
    DAY1,
    DAY2,
    HETANG_PATH,
    LUSONG_PATH,
    NOW,
    build,
    command_actor,
    utc,
)
from tests.personas import HETANG, LUSONG, ZHUZHOU, Personas, login

TZ = "Asia/Shanghai"
STREET = "430203003"
STREET_PATH = "/43/4302/430203/430203003/"


def _work(session: Session) -> None:
    """A transfer checked in and a delivery completed in one street of 芦淞 on 11 Nov."""
    building = places.building(session, places.compound(session, "枫溪小区", STREET), "1栋")
    session.add(
        DeliveryTask(
            building_id=building.id,
            area_path=STREET_PATH,
            status="completed",
            priority=1,
            created_at=utc(11, 1),
            claimed_at=utc(11, 2),
            completed_at=utc(11, 3),
        )
    )
    session.add(
        TransferTask(
            kind="contacts",
            destination_kind="isolation_facility",
            destination_name="芦淞隔离点",
            area_path=STREET_PATH,
            vehicle="湘B-0001",
            team="一组",
            status="checked_in",
            deadline_at=utc(11, 8),
            deadline_rule="setting:test",
            checked_in_at=utc(11, 6),
            created_at=utc(11, 1),
            updated_at=utc(11, 6),
        )
    )
    session.flush()


def _ledger(session: Session, actor: object, path: str, day: object) -> ledgers.Ledger:
    return ledgers.work_ledger(
        session=session,
        actor=actor,  # type: ignore[arg-type]
        path=path,
        day=day,  # type: ignore[arg-type]
        cutoff_hour=24,
        timezone=TZ,
    )


def _by_path(ledger: ledgers.Ledger) -> dict[str, dict[str, int]]:
    return {row.area.path if row.area else "unplaced": row.counts for row in ledger.rows}


def test_the_city_ledger_counts_each_district_s_work_of_the_day(
    session: Session, personas: Personas
) -> None:
    build(session)
    _work(session)
    city = command_actor(personas)
    first = _ledger(session, city, CITY_PATH, DAY1)
    second = _ledger(session, city, CITY_PATH, DAY2)
    rows = _by_path(first)
    assert rows[LUSONG_PATH] == {
        "sampled": 4,
        "cases": 2,
        "investigations": 0,
        "contacts": 1,
        "handed_over": 0,
        "isolated": 1,
        "released": 0,
        "transferred": 0,
        "deliveries": 0,
    }
    assert rows[HETANG_PATH] == {
        "sampled": 2,
        "cases": 2,
        "investigations": 0,
        "contacts": 0,
        "handed_over": 0,
        "isolated": 2,
        "released": 0,
        "transferred": 0,
        "deliveries": 0,
    }
    assert "unplaced" not in rows
    assert first.total.counts == {
        key: rows[LUSONG_PATH][key] + rows[HETANG_PATH][key] for key in ledgers.KEYS
    }
    later = _by_path(second)
    assert (later[LUSONG_PATH]["cases"], later[LUSONG_PATH]["transferred"]) == (1, 1)
    assert later[LUSONG_PATH]["deliveries"] == 1
    assert (later[HETANG_PATH]["released"], later[HETANG_PATH]["cases"]) == (1, 0)
    assert second.total.counts["sampled"] == 0


def test_a_district_ledger_splits_by_street_and_keeps_district_level_work(
    session: Session, personas: Personas
) -> None:
    build(session)
    _work(session)
    lusong = command_actor(personas, LUSONG)
    ledger = _ledger(session, lusong, LUSONG_PATH, DAY2)
    rows = _by_path(ledger)
    assert rows[STREET_PATH]["transferred"] == 1 and rows[STREET_PATH]["deliveries"] == 1
    # c6 lives at the district's own path, in no street: counted on its own line
    assert rows["unplaced"]["cases"] == 1 and rows["unplaced"]["transferred"] == 0
    assert ledger.total.counts["cases"] == 1 and ledger.total.counts["transferred"] == 1
    with pytest.raises(PermissionDenied):
        _ledger(session, lusong, HETANG_PATH, DAY2)


def test_the_ledger_page_and_its_exports(
    client: TestClient, session: Session, personas: Personas
) -> None:
    build(session)
    _work(session)
    personas.user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    personas.user("hetang-commander", Role.COMMAND_CENTRE, HETANG)
    personas.user("sampler", Role.SAMPLER, ZHUZHOU)
    with clock.use_clock(clock.ManualClock(NOW)):
        login(client, "commander")
        page = client.get("/command/ledger", params={"day": DAY1.isoformat()})
        xlsx = client.get(
            "/command/ledger/export", params={"day": DAY1.isoformat(), "format": "xlsx"}
        )
        as_csv = client.get(
            "/command/ledger/export",
            params={"day": DAY2.isoformat(), "format": "csv", "path": LUSONG_PATH},
        )
        login(client, "hetang-commander")
        outside = client.get("/command/ledger", params={"path": LUSONG_PATH})
        login(client, "sampler")
        refused = client.get("/command/ledger")
    assert page.status_code == 200 and 'data-area="/43/4302/430203/"' in page.text
    assert (
        xlsx.headers["content-disposition"] == 'attachment; filename="ledger-4302-2022-11-10.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("区域 area", "代码 code", "采样人次 People sampled")
    by_code = {row[1]: row for row in values[1:]}
    assert by_code["430203"][2:] == (4, 2, 0, 1, 0, 1, 0, 0, 0)
    assert by_code["430202"][2:] == (2, 2, 0, 0, 0, 2, 0, 0, 0)
    assert values[-1][0] == "合计 total" and values[-1][2:] == (6, 4, 0, 1, 0, 3, 0, 0, 0)
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    street = next(row for row in rows if row[1] == STREET)
    assert street[2:] == ["0", "0", "0", "0", "0", "0", "0", "1", "1"]
    assert rows[-1][0] == "合计 total" and rows[-1][2:] == [
        "0",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "1",
        "1",
    ]
    assert outside.status_code == 403 and refused.status_code == 403
