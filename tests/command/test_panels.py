"""The live dashboard panels and the schematic map, exact on the small outbreak of
tests/command/outbreak.py plus a few rows of testing, health-code, vaccination and transfer
data written at known instants; on both databases."""

from __future__ import annotations

import dataclasses
from datetime import date
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.command import jobs, panels
from fangkong.command import service as command_service
from fangkong.core import clock
from fangkong.healthcode.models import HealthCode
from fangkong.isolation.models import Facility, Room, TransferTask
from fangkong.registry.models import Area
from fangkong.testing.models import Alert, TubeOutcome, TubeResult
from fangkong.vaccination.models import DoseRecord
from tests.command.outbreak import (
    CITY_PATH,
    HETANG_PATH,
    LUSONG_PATH,
    NOW,
    Outbreak,
    build,
    command_actor,
    utc,
)
from tests.personas import HETANG, LUSONG, ZHUZHOU, Personas, login

PATHS = (CITY_PATH, LUSONG_PATH, HETANG_PATH)


def _more(session: Session, outbreak: Outbreak) -> None:
    people, cases = outbreak.people, outbreak.cases
    cases["c1"].onset_date = date(2022, 11, 9)
    cases["c2"].onset_date = date(2022, 11, 9)
    cases["c6"].onset_date = date(2022, 11, 10)
    cases["c7"].onset_date = date(2022, 11, 12)
    cases["c5"].onset_date = date(2022, 11, 10)  # void: never counted
    results = list(session.scalars(select(TubeResult).order_by(TubeResult.id)))
    # three outcomes: two in the last 24 hours before NOW (one positive pool), one older
    for result, (reported, seconds, outcome) in zip(
        results,
        [
            (utc(12, 10), 3600, "detected"),
            (utc(12, 20), 7200, "not_detected"),
            (utc(11, 20), 99_000, "not_detected"),
        ],
        strict=True,
    ):
        row = TubeOutcome(
            lab_result_id=result.id,
            tube_id=result.tube_id,
            campaign_id=None,
            area_path=LUSONG_PATH if result.tube_barcode == "T1" else HETANG_PATH,
            result=outcome,
            member_count=3,
            sampled_at=reported,
            result_at=reported,
            turnaround_seconds=seconds,
            run_id="run",
            applied_at=reported,
        )
        session.add(row)
        session.flush()
        if outcome == "detected":
            session.add(
                Alert(
                    kind="positive_pool",
                    tube_outcome_id=row.id,
                    tube_id=row.tube_id,
                    campaign_id=None,
                    area_path=row.area_path,
                    audiences="community",
                    member_count=3,
                    status="open",
                    rule_ref="test",
                    created_at=reported,
                )
            )
    for name, colour in (("t1", "yellow"), ("t2", "green"), ("t3", "green"), ("h1", "red")):
        session.add(
            HealthCode(
                person_id=people[name].id,
                colour=colour,
                rule_id="r",
                pack_id="cn-9",
                pack_version=1,
                reasons=[],
                decided_at=utc(12, 0),
            )
        )
    for name in ("t1", "h1"):
        session.add(
            DoseRecord(
                person_id=people[name].id,
                product="X",
                dose_number=1,
                administered_on=date(2022, 1, 1),
                site="s",
                source="import",
                recorded_at=utc(1, 0),
            )
        )
    for path, deadline, status in (
        (LUSONG_PATH, utc(12, 1), "dispatched"),  # overdue
        (HETANG_PATH, utc(12, 1), "checked_in"),  # done
        (HETANG_PATH, utc(14, 1), "planned"),  # not due yet
    ):
        session.add(
            TransferTask(
                kind="case",
                destination_kind="hospital",
                destination_name="d",
                area_path=path,
                vehicle="v",
                team="t",
                status=status,
                deadline_at=deadline,
                deadline_rule="r",
                created_at=utc(11, 0),
                updated_at=utc(11, 0),
            )
        )
    session.flush()


def test_panels_are_exact_for_the_city_and_a_district(session: Session, personas: Personas) -> None:
    outbreak = build(session)
    _more(session, outbreak)
    city = command_actor(personas)
    lusong = command_actor(personas, LUSONG)
    onset = panels.onset_curve(
        session=session,
        actor=city,
        path=CITY_PATH,
        first=date(2022, 11, 9),
        last=date(2022, 11, 12),
    )
    whole = panels.panels(session=session, actor=city, path=CITY_PATH, now=NOW)
    part = panels.panels(session=session, actor=lusong, path=LUSONG_PATH, now=NOW)
    assert onset == [
        (date(2022, 11, 9), 2, 0),
        (date(2022, 11, 10), 1, 0),
        (date(2022, 11, 11), 0, 0),
        (date(2022, 11, 12), 0, 1),
    ]
    assert whole.open_positive_pools == 1
    assert (whole.turnaround.count, whole.turnaround.p50, whole.turnaround.p90) == (2, 3600, 7200)
    assert [(r.name, r.sampled, r.required) for r in whole.rounds] == [("芦淞区第1轮", 4, 10)]
    assert whole.overdue_transfers == 1
    assert whole.codes == {"green": 2, "yellow": 1, "red": 1}
    assert (whole.vaccinated, whole.residents) == (2, 14)
    assert whole.vaccinated_percent == 14.3
    assert whole.beds is not None and (whole.beds.total, whole.beds.free) == (0, 0)
    assert part.codes == {"green": 2, "yellow": 1, "red": 0}
    assert (part.vaccinated, part.residents, part.overdue_transfers) == (1, 10, 1)
    assert [(r.sampled, r.required) for r in part.rounds] == [(4, 10)]


def test_map_colours_and_outlines_the_districts(session: Session, personas: Personas) -> None:
    build(session)
    city = command_actor(personas)
    areas = {
        a.area.path: a for a in panels.map_areas(session=session, actor=city, parent_path=CITY_PATH)
    }
    assert (areas[LUSONG_PATH].population, areas[LUSONG_PATH].current_cases) == (10, 3)
    assert areas[LUSONG_PATH].risk_areas == 0
    assert (areas[HETANG_PATH].population, areas[HETANG_PATH].current_cases) == (4, 0)
    assert areas[HETANG_PATH].risk_areas == 1
    assert areas[LUSONG_PATH].rate == 30000.0


def test_dashboard_panels_fragment_and_map_pages(
    client: TestClient, session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    _more(session, outbreak)
    personas.user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    with clock.use_clock(clock.ManualClock(NOW)):
        login(client, "commander")
        dashboard = client.get("/command", params={"until": "2022-11-12", "days": 4})
        fragment = client.get("/command/panels")
        city_map = client.get("/command/map")
        district_map = client.get("/command/map", params={"path": HETANG_PATH})
    assert dashboard.status_code == 200
    assert 'hx-trigger="every 60s"' in dashboard.text
    assert 'id="onset-curve"' in dashboard.text
    assert 'data-panel="open_positive_pools"><a href="/testing/alerts">1<' in fragment.text
    assert 'data-panel="overdue_transfers">1<' in fragment.text
    assert 'data-panel="code_green">2<' in fragment.text
    assert 'data-panel="turnaround_p90">2.0 h<' in fragment.text
    assert city_map.status_code == 200
    districts = city_map.text.count("<tr data-area=")
    assert districts >= 2 and city_map.text.count("<rect ") == districts
    assert f'<a href="/command/map?path={quote(HETANG_PATH)}" data-area="{HETANG_PATH}">' in (
        city_map.text
    )
    assert 'stroke="#b3261e"' in city_map.text  # 荷塘区 has a risk area in force
    assert district_map.status_code == 200


def test_who_may_see_the_panels_and_the_map(
    client: TestClient, session: Session, personas: Personas
) -> None:
    build(session)
    personas.user("sampler", Role.SAMPLER, ZHUZHOU)
    personas.user("hetang-commander", Role.COMMAND_CENTRE, HETANG)
    with clock.use_clock(clock.ManualClock(NOW)):
        anonymous = client.get("/command/map", follow_redirects=False)
        login(client, "sampler")
        refused = [client.get(url).status_code for url in ("/command/panels", "/command/map")]
        login(client, "hetang-commander")
        outside = [
            client.get(url, params={"path": LUSONG_PATH}).status_code
            for url in ("/command/panels", "/command/map")
        ]
        own_map = client.get("/command/map")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert refused == [403, 403]
    assert outside == [403, 403]
    assert own_map.status_code == 200 and "Up one level" not in own_map.text
    assert "返回上一级" not in own_map.text  # never above the jurisdiction


def _facility(session: Session, path: str, name: str, capacity: int, occupancy: int) -> None:
    facility = Facility(
        name=name,
        area_id=session.scalars(select(Area.id).where(Area.path == path)).one(),
        area_path=path,
        status="in_use",
        created_at=NOW,
    )
    session.add(facility)
    session.flush()
    session.add(Room(facility_id=facility.id, label="101", capacity=capacity, occupancy=occupancy))
    session.flush()


def test_the_bed_panel_counts_the_chosen_district_only(
    session: Session, personas: Personas
) -> None:
    build(session)
    _facility(session, LUSONG_PATH, "芦淞隔离点", capacity=10, occupancy=3)
    _facility(session, HETANG_PATH, "荷塘隔离点", capacity=4, occupancy=4)
    city = command_actor(personas)
    lusong = command_actor(personas, LUSONG)
    with clock.use_clock(clock.ManualClock(NOW)):
        whole = panels.panels(session=session, actor=city, path=CITY_PATH, now=NOW).beds
        chosen = panels.panels(session=session, actor=city, path=HETANG_PATH, now=NOW).beds
        own = panels.panels(session=session, actor=lusong, path=LUSONG_PATH, now=NOW).beds
    assert whole is not None and (whole.total, whole.occupied, whole.free) == (14, 7, 7)
    assert chosen is not None and (chosen.total, chosen.occupied, chosen.free) == (4, 4, 0)
    assert own is not None and (own.total, own.occupied, own.free) == (10, 3, 7)


def test_a_refreshed_snapshot_gives_the_same_panels_and_is_read_until_the_next_refresh(
    session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    _more(session, outbreak)
    city = command_actor(personas)
    with clock.use_clock(clock.ManualClock(NOW)):
        live = {p: panels.panels(session=session, actor=city, path=p, now=NOW) for p in PATHS}
        rows = jobs.refresh_snapshots(session=session)
        stored = {p: panels.panels(session=session, actor=city, path=p, now=NOW) for p in PATHS}
    assert {r.area_path for r in rows} >= set(PATHS)
    for path in PATHS:
        assert stored[path] == dataclasses.replace(live[path], as_of=NOW)
    assert (stored[CITY_PATH].residents, stored[CITY_PATH].vaccinated) == (14, 2)
    assert stored[LUSONG_PATH].codes == {"green": 2, "yellow": 1, "red": 0}
    # a code that changes after the refresh shows at the next one, not before
    session.execute(
        update(HealthCode)
        .where(HealthCode.person_id == outbreak.people["t1"].id)
        .values(colour="red")
    )
    later = panels.panels(session=session, actor=city, path=LUSONG_PATH, now=NOW)
    assert later.codes == {"green": 2, "yellow": 1, "red": 0} and later.as_of == NOW
    with clock.use_clock(clock.ManualClock(NOW)):
        jobs.refresh_snapshots(session=session)
    again = panels.panels(session=session, actor=city, path=LUSONG_PATH, now=NOW)
    assert again.codes == {"green": 2, "yellow": 0, "red": 1}


def test_the_dashboard_data_over_the_api(
    client: TestClient, session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    _more(session, outbreak)
    personas.user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    personas.user("hetang-commander", Role.COMMAND_CENTRE, HETANG)
    with clock.use_clock(clock.ManualClock(NOW)):
        command_service.compute_day(
            session=session,
            actor=None,
            day=date(2022, 11, 12),
            now=NOW,
            cutoff_hour=24,
            timezone="Asia/Shanghai",
        )
        session.commit()
        login(client, "commander")
        whole = client.get("/api/v1/command/dashboard", params={"days": 2})
        part = client.get("/api/v1/command/dashboard", params={"path": LUSONG_PATH, "days": 4})
        login(client, "hetang-commander")
        outside = client.get("/api/v1/command/dashboard", params={"path": LUSONG_PATH})
    assert whole.status_code == 200
    data = whole.json()
    assert data["area_path"] == CITY_PATH
    assert [d["day"] for d in data["series"]] == ["2022-11-12"]
    assert data["series"][0]["figures"]["new_asymptomatic"] == 1
    assert data["series"][0]["figures"]["new_deaths"] == 1
    named = {d["area_path"]: d["figures"]["under_treatment"] for d in data["districts"]}
    assert (named[LUSONG_PATH], named[HETANG_PATH]) == (2, 0)
    assert data["panels"]["codes"] == {"green": 2, "yellow": 1, "red": 1}
    assert (data["panels"]["residents"], data["panels"]["vaccinated"]) == (14, 2)
    assert data["panels"]["overdue_transfers"] == 1 and data["panels"]["as_of"] is None
    onset = part.json()["onset"]
    assert [(d["day"], d["confirmed"], d["asymptomatic"]) for d in onset] == [
        ("2022-11-10", 1, 0),
        ("2022-11-11", 0, 0),
        ("2022-11-12", 0, 1),
        ("2022-11-13", 0, 0),
    ]
    assert outside.status_code == 403


def test_the_map_takes_the_districts_populations_from_their_snapshots(
    session: Session, personas: Personas
) -> None:
    outbreak = build(session)
    city = command_actor(personas)
    with clock.use_clock(clock.ManualClock(NOW)):
        jobs.refresh_snapshots(session=session)
    # a resident who leaves after the refresh counts until the next one; cases stay live
    outbreak.people["h1"].status = "moved_away"
    session.flush()
    areas = {
        a.area.path: a for a in panels.map_areas(session=session, actor=city, parent_path=CITY_PATH)
    }
    assert (areas[HETANG_PATH].population, areas[HETANG_PATH].risk_areas) == (4, 1)
    assert (areas[LUSONG_PATH].population, areas[LUSONG_PATH].current_cases) == (10, 3)
    with clock.use_clock(clock.ManualClock(NOW)):
        jobs.refresh_snapshots(session=session)
    again = {
        a.area.path: a for a in panels.map_areas(session=session, actor=city, parent_path=CITY_PATH)
    }
    assert again[HETANG_PATH].population == 3
