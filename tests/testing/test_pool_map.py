"""The map of a round's positive pools: buildings with positive-pool members and how far their
single-tube re-samples have gone, on the round's monitoring page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.testing import pool_map
from tests.personas import Personas, login
from tests.testing import small_city
from tests.testing.hl7_samples import batch, oru
from tests.testing.small_city import T0, SmallCity
from tests.testing.test_effects import DETECTED, NOT_DETECTED, REPORTED, upload
from tests.testing.test_monitoring import officer

SVG = "{http://www.w3.org/2000/svg}"


def chased_round(session: Session) -> SmallCity:
    """Two positive pools: 荷花小区 1栋 (4 people) and 2栋 + 建设新村 1栋 (2 + 1 people). Then
    both 2栋 members are re-sampled in single tubes (no result yet) and the 建设新村 member is
    re-sampled with a negative result; 1栋's re-samples are not taken."""
    city = small_city.build(session)
    c = city.campaign.id
    a1, a2, b1 = city.ids("A1"), city.ids("A2"), city.ids("B1")
    at = T0 + timedelta(hours=1)
    small_city.tube(session, "ZZ0701", a1[:4], at=at, campaign_id=c)
    small_city.tube(session, "ZZ0702", a2[:2] + b1[:1], at=at, campaign_id=c)
    small_city.tube(session, "ZZ0703", a1[4:], at=at, campaign_id=c)
    clock = ManualClock(T0 + timedelta(hours=7))
    with use_clock(clock):
        upload(
            session,
            batch(
                [
                    oru(control_id="P1", tube="ZZ0701", result=DETECTED, reported=REPORTED),
                    oru(control_id="P2", tube="ZZ0702", result=DETECTED, reported=REPORTED),
                    oru(control_id="P3", tube="ZZ0703", result=NOT_DETECTED, reported=REPORTED),
                ]
            ).encode(),
        )
        again = T0 + timedelta(hours=8)
        small_city.tube(session, "ZZ0711", a2[:1], at=again, campaign_id=c)
        small_city.tube(session, "ZZ0712", a2[1:2], at=again, campaign_id=c)
        small_city.tube(session, "ZZ0713", b1[:1], at=again, campaign_id=c)
        clock.set(T0 + timedelta(hours=11))
        upload(
            session,
            batch(
                [
                    oru(
                        control_id="R3",
                        tube="ZZ0713",
                        result=NOT_DETECTED,
                        reported="20221110183000+0800",
                    )
                ]
            ).encode(),
            "retest.hl7",
        )
    return city


def test_each_building_of_a_positive_pool_has_its_chase_status(
    session: Session, personas: Personas
) -> None:
    city = chased_round(session)
    buildings = pool_map.pool_buildings(
        session=session, actor=officer(personas), campaign_id=city.campaign.id
    )
    ids = {b.id: label for label, b in city.buildings.items()}
    assert [
        (ids[b.building_id], b.compound, b.building, b.ordered, b.sampled, b.resolved, b.status)
        for b in buildings
    ] == [
        ("A1", "荷花小区", "1栋", 4, 0, 0, "ordered"),
        ("A2", "荷花小区", "2栋", 0, 2, 0, "sampled"),
        ("B1", "建设新村", "1栋", 0, 0, 1, "resolved"),
    ]


def test_the_round_page_draws_the_map_of_positive_pools(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = chased_round(session)
    officer(personas)
    login(client, "lusong-officer")
    page = client.get(f"/testing/campaigns/{city.campaign.id}")
    assert page.status_code == 200
    found = re.search(r'<div id="pool-map">(<svg.*?</svg>)</div>', page.text, re.S)
    assert found is not None
    svg = ET.fromstring(found.group(1))  # noqa: S314 (the page under test, not untrusted input)
    tiles = {
        link.get("data-area"): (
            link.find(f"{SVG}rect").get("fill"),  # type: ignore[union-attr]
            link.find(f"{SVG}rect").get("stroke"),  # type: ignore[union-attr]
            link.find(f"{SVG}text").text,  # type: ignore[union-attr]
            link.get("href"),
        )
        for link in svg.iter(f"{SVG}a")
    }
    c = city.campaign.id
    a1, a2, b1 = (city.buildings[label].id for label in ("A1", "A2", "B1"))
    assert tiles == {
        str(a1): ("#b3261e", "#b3261e", "荷花小区 1栋", f"/testing/campaigns/{c}/buildings/{a1}"),
        str(a2): ("#ffcc80", "#fff", "荷花小区 2栋", f"/testing/campaigns/{c}/buildings/{a2}"),
        str(b1): ("#c8e6c9", "#fff", "建设新村 1栋", f"/testing/campaigns/{c}/buildings/{b1}"),
    }
    # Sized by members: 1栋's 4 of the 7 people take the larger share.
    areas = {
        link.get("data-area"): float(link.find(f"{SVG}rect").get("width"))  # type: ignore[union-attr, arg-type]
        * float(link.find(f"{SVG}rect").get("height"))  # type: ignore[union-attr, arg-type]
        for link in svg.iter(f"{SVG}a")
    }
    assert areas[str(a1)] > areas[str(a2)] + areas[str(b1)]
    assert f'<tr data-building="{a2}" data-chase="sampled">' in page.text
    assert "cdn" not in found.group(1).lower() and "http://" not in found.group(1).replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_a_round_without_positive_pools_draws_no_map(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    officer(personas)
    login(client, "lusong-officer")
    page = client.get(f"/testing/campaigns/{city.campaign.id}")
    assert page.status_code == 200 and 'id="pool-map"' not in page.text
