"""The case pages through a logged-in browser session: list, new case, case page with its
investigation, contacts, the cluster graph, the menu and the translations."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.clock import ManualClock, use_clock
from fangkong.tracing import actions, enums, service
from fangkong.tracing.models import Case, TransmissionLink
from fangkong.tracing.pages import graph_layout
from fangkong.web import i18n
from tests.personas import LUSONG, Personas, login
from tests.tracing.world import NOW, build, epidemiologist, open_case

TEMPLATE_STRING = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def test_every_tracing_page_string_and_label_has_a_chinese_and_english_label() -> None:
    templates = Path(i18n.__file__).parent / "templates" / "tracing"
    ids = {
        m.group(1) or m.group(2)
        for page in templates.glob("*.html")
        for m in TEMPLATE_STRING.finditer(page.read_text())
    }
    keyed = (
        {f"case_status:{s}" for s in enums.CaseStatus}
        | {f"case_kind:{s}" for s in enums.CaseKind}
        | {f"route:{s}" for s in enums.DetectionRoute}
        | {f"severity:{s}" for s in enums.Severity}
        | {f"investigation:{s}" for s in enums.InvestigationStatus}
        | {f"entry:{s}" for s in enums.TrajectoryKind}
        | {f"source:{s}" for s in enums.EntrySource}
        | {f"category:{s}" for s in enums.ContactCategory}
        | {f"contact_status:{s}" for s in enums.ContactStatus}
        | {f"basis:{s}" for s in enums.ContactBasis}
    )
    chinese = i18n.translations("zh_CN")
    english = i18n.translations("en")
    assert sorted(m for m in ids | keyed if chinese.gettext(m) == m) == []
    assert sorted(m for m in keyed if english.gettext(m) == m) == []


def test_an_epidemiologist_opens_a_case_confirms_it_and_sees_its_contacts(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    personas.user("epi-pages", Role.EPIDEMIOLOGIST, LUSONG)
    csrf = login(client, "epi-pages")
    home = client.get("/")
    assert 'href="/cases"' in home.text and 'href="/contacts"' in home.text
    with use_clock(ManualClock(NOW)):
        created = client.post(
            "/cases",
            data={
                "csrf_token": csrf,
                "person_id": str(world.case_person.id),
                "kind": "asymptomatic",
                "detection_route": "mass_round",
                "sampled_at": "2022-11-08T09:30",
            },
            follow_redirects=False,
        )
        assert created.status_code == 303, created.text
        case_url = created.headers["location"]
        case = session.scalars(select(Case)).one()
        assert case.sampled_at is not None
        assert case.sampled_at.isoformat() == "2022-11-08T01:30:00+00:00"  # read as Beijing time
        page = client.get(case_url)
        assert page.status_code == 200
        assert "芦淞服装城" in page.text and "扫码记录" in page.text
        investigation = service.investigation_of_case(session=session, case_id=case.id)
        assert investigation is not None
        confirmed = client.post(
            f"/investigations/{investigation.id}/confirm",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert confirmed.status_code == 303
        page = client.get(case_url)
    # cn-9 on 9 Nov: two housemates, the colleague, the shopper and (secondary) the spouse
    assert page.text.count("data-contact=") == 5
    assert "同场所同时段" in page.text and "20 分钟" in page.text
    listing = client.get("/cases?status=reported")
    assert f'data-case="{case.id}"' in listing.text
    assert "张病例" in listing.text
    contacts = client.get("/contacts")
    assert contacts.text.count("data-contact=") == 4  # the colleague lives in 荷塘区
    assert client.get("/cases?kind=confirmed").text.count("data-case=") == 0


def test_the_cluster_page_draws_the_chain(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    first = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=first.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    with use_clock(ManualClock(NOW + timedelta(days=1))):
        second = open_case(session, actor, world.housemates[0])
    links = list(session.scalars(select(TransmissionLink)))
    layout = graph_layout(links, {first.id: first, second.id: second})
    assert [(n["id"], n["x"], n["y"]) for n in layout["nodes"]] == [
        (first.id, 40, 40),
        (second.id, 160, 40),
    ]
    assert [(e["x1"], e["x2"], e["confidence"]) for e in layout["edges"]] == [(40, 160, "high")]
    login(client, "epi-430203")
    page = client.get("/clusters")
    assert page.status_code == 200
    assert page.text.count("<circle") == 2 and "<line" in page.text
    assert f'data-cluster="{first.id}"' in page.text and "聚集性疫情统计" in page.text
