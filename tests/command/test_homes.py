"""Every role lands on ``/`` with its work for today: a short list of counts with links,
exact on the small outbreak of tests/command/outbreak.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core import clock
from fangkong.healthcode.models import HealthCode
from tests.command.outbreak import NOW, build, utc
from tests.personas import ZHUZHOU, Personas, login

# role → (item key → count, or None for a link / a word); the counts follow from outbreak.py
EXPECTED: dict[Role, dict[str, int | str | None]] = {
    Role.COMMAND_CENTRE: {
        "list_test": 6,
        "list_isolate": 1,
        "list_admit": 1,
        "list_treat": 2,
        "bulletins": None,
        "map": None,
        "ledger": None,
    },
    Role.DISTRICT_OFFICER: {
        "list_test": 6,
        "list_isolate": 1,
        "list_admit": 1,
        "list_treat": 2,
        "bulletins": None,
        "map": None,
        "ledger": None,
    },
    Role.GRID_WORKER: {"my_grid": None, "not_tested": 6, "missed_checkins": 1},
    Role.SAMPLER: {"open_rounds": 1},
    Role.LABORATORY: {"tubes_waiting": 1},
    Role.EPIDEMIOLOGIST: {"open_investigations": 1, "investigations_due": 1},
    Role.ISOLATION_MANAGER: {"due_contacts": 1, "overdue_transfers": 0, "missed_checkins": 1},
    Role.TRANSFER_TEAM: {"open_transfers": 0, "overdue_transfers": 0},
    Role.INDUSTRY_BUREAU: {"to_review": 0, "open_tickets": 0},
    Role.ENTERPRISE: {"application": "尚未申请"},
    Role.VOLUNTEER: {"open_tasks": 0, "my_tasks": 0},
    Role.CHECKPOINT: {"scan_code": None, "scan_pass": None},
    Role.RESIDENT: {"my_code": "黄码", "checkin": None, "supplies": None},
    Role.ADMINISTRATOR: {"audit": None},
}


def test_every_role_has_a_home() -> None:
    assert set(EXPECTED) == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_lands_on_its_work_for_today(
    role: Role, client: TestClient, session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    resident = outbreak.people["t1"]
    session.add(
        HealthCode(
            person_id=resident.id,
            colour="yellow",
            rule_id="r",
            pack_id="cn-9",
            pack_version=1,
            reasons=[],
            decided_at=utc(12, 0),
        )
    )
    if role is Role.RESIDENT:
        personas.user("someone", role, person_id=resident.id)
    else:
        personas.user("someone", role, ZHUZHOU)
    with clock.use_clock(clock.ManualClock(NOW)):
        login(client, "someone")
        home = client.get("/")
    assert home.status_code == 200
    keys = re.findall(r'<li data-item="([a-z_]+)">', home.text)
    assert keys == list(EXPECTED[role])
    for key, expected in EXPECTED[role].items():
        if isinstance(expected, int):
            assert f'<strong data-count="{key}">{expected}</strong>' in home.text
        elif isinstance(expected, str):
            assert f'<strong data-value="{key}">{expected}</strong>' in home.text
