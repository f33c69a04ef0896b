"""Contacts on shared transport: the pure rule per vehicle, passenger manifests, a case's
journey pulled from them or entered by hand, and the contacts found with their evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.registry.models import Person
from fangkong.tracing import actions, journeys, service
from fangkong.tracing.enums import TrajectoryKind, TransportMode, TravellerRole
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Contact
from fangkong.tracing.section import TransportRule
from fangkong.tracing.transport import (
    Journey,
    JourneyProblem,
    JourneyRecord,
    Traveller,
    check_journey,
    seat_row,
    transport_contacts,
)
from tests import places
from tests.personas import Personas
from tests.tracing.world import LUSONG_PATH, NOW, build, epidemiologist, open_case

RULE = TransportRule(
    id="tr.transport", flight_rows=3, train_rows=None, same_trip_within=timedelta(minutes=60)
)
DAY = date(2022, 11, 7)
BOARDED = datetime(2022, 11, 7, 6, 0, tzinfo=UTC)  # inside the world's look-back window


def found(
    mode: TransportMode, case: Traveller, others: list[Traveller], rule: TransportRule = RULE
) -> dict[int, str | None]:
    number = {"flight": "CZ3456", "train": "G1234", "bus": "K12", "taxi": "湘B12345"}[mode]
    evidence = transport_contacts(
        journey=Journey(mode, number, DAY), case=case, others=others, rule=rule, at=BOARDED
    )
    assert all(item.at == BOARDED for item in evidence)
    return {item.person_id: item.detail for item in evidence}


@pytest.mark.parametrize(
    ("seat", "row"), [("12C", 12), ("05A", 5), ("31", 31), ("C12", None), ("", None), (None, None)]
)
def test_the_row_of_a_seat(seat: str | None, row: int | None) -> None:
    assert seat_row(seat) == row


def test_on_a_flight_the_rows_near_the_case_and_the_crew_are_close_contacts() -> None:
    case = Traveller(1, seat="14C")
    others = [
        Traveller(2, seat="12A"),
        Traveller(3, seat="17F"),  # 3 rows behind: the edge of the rule
        Traveller(4, seat="18A"),  # 4 rows behind: a general contact only
        Traveller(5),  # no seat on the manifest: the distance is unknown
        Traveller(6, role=TravellerRole.CREW, seat="30"),
        Traveller(1, seat="14C"),  # the case itself
    ]
    assert found(TransportMode.FLIGHT, case, others) == {
        2: "same flight CZ3456 on 2022-11-07, row 12 vs case row 14",
        3: "same flight CZ3456 on 2022-11-07, row 17 vs case row 14",
        5: "same flight CZ3456 on 2022-11-07, seat unknown vs case seat 14C",
        6: "same flight CZ3456 on 2022-11-07, crew",
    }
    narrow = TransportRule(
        id="x", flight_rows=2, train_rows=None, same_trip_within=RULE.same_trip_within
    )
    assert set(found(TransportMode.FLIGHT, case, others, narrow)) == {2, 5, 6}


def test_on_a_train_the_case_s_carriage_counts() -> None:
    case = Traveller(1, carriage="05", seat="08D")
    others = [
        Traveller(2, carriage="5", seat="01A"),
        Traveller(3, carriage="06", seat="08D"),
        Traveller(4, seat="08F"),  # carriage unknown
    ]
    assert found(TransportMode.TRAIN, case, others) == {
        2: "same train G1234 on 2022-11-07, carriage 05 (the case's carriage)",
        4: "same train G1234 on 2022-11-07, carriage unknown",
    }
    rows = TransportRule(
        id="x", flight_rows=3, train_rows=2, same_trip_within=RULE.same_trip_within
    )
    others.append(Traveller(5, carriage="05", seat="10A"))
    assert found(TransportMode.TRAIN, case, others, rows) == {
        4: "same train G1234 on 2022-11-07, carriage unknown",
        5: "same train G1234 on 2022-11-07, carriage 05, seat 10A vs case seat 08D",
    }


@pytest.mark.parametrize("mode", [TransportMode.BUS, TransportMode.TAXI])
def test_on_a_bus_or_taxi_those_boarding_within_the_hour_and_the_driver_count(
    mode: TransportMode,
) -> None:
    case = Traveller(1, boarded_at=BOARDED)
    others = [
        Traveller(2, boarded_at=BOARDED + timedelta(minutes=60)),
        Traveller(3, boarded_at=BOARDED - timedelta(minutes=61)),
        Traveller(4),
        Traveller(5, role=TravellerRole.CREW),
    ]
    number = "K12" if mode is TransportMode.BUS else "湘B12345"
    assert found(mode, case, others) == {
        2: f"same {mode} {number} on 2022-11-07, boarded 07:00 vs case 06:00 (UTC)",
        4: f"same {mode} {number} on 2022-11-07, boarding time unknown",
        5: f"same {mode} {number} on 2022-11-07, crew",
    }


def test_a_manifest_row_is_checked_field_by_field() -> None:
    good = check_journey(
        {
            "mode": "Flight",
            "number": " cz3456 ",
            "service_date": "2022-11-07",
            "person_id": "7",
            "seat": "14c",
            "boarded_at": "2022-11-07T14:00:00+08:00",
        },
        index=0,
    )
    assert good == JourneyRecord(
        journey=Journey(TransportMode.FLIGHT, "CZ3456", DAY),
        role=TravellerRole.PASSENGER,
        carriage=None,
        seat="14C",
        boarded_at=datetime(2022, 11, 7, 6, 0, tzinfo=UTC),
        person_id=7,
        id_number=None,
    )
    base = {"mode": "train", "number": "G1", "service_date": "2022-11-07", "person_id": "7"}
    for change, field in [
        ({"mode": "ship"}, "mode"),
        ({"number": ""}, "number"),
        ({"service_date": "7/11/2022"}, "service_date"),
        ({"role": "pilot"}, "role"),
        ({"seat": "123456789"}, "seat"),
        ({"boarded_at": "2022-11-07T14:00:00"}, "boarded_at"),
        ({"person_id": ""}, "person_id"),
    ]:
        problem = check_journey({**base, **change}, index=3)
        assert isinstance(problem, JourneyProblem) and (problem.index, problem.field) == (3, field)


# --- With the database ----------------------------------------------------------------------


def manifest(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "cz3456.csv"
    path.write_text(
        "mode,number,service_date,person_id,seat,role,boarded_at\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path


def passengers(session: Session) -> dict[str, Person]:
    return {
        name: places.person(session, name, area_path=LUSONG_PATH)
        for name in ("邻座", "后排", "远座", "乘务")
    }


def test_a_manifest_is_imported_once_and_bad_rows_are_reported(
    session: Session, tmp_path: Path
) -> None:
    people = passengers(session)
    rows = [
        f"flight,CZ3456,2022-11-07,{people['邻座'].id},13A,,",
        f"flight,CZ3456,2022-11-07,{people['乘务'].id},,crew,",
        "flight,CZ3456,2022-11-07,999999,12A,,",  # nobody
        f"ship,CZ3456,2022-11-07,{people['远座'].id},30A,,",
    ]
    with use_clock(ManualClock(NOW)):
        first = journeys.import_manifest(session=session, path=manifest(tmp_path, rows), actor=None)
        again = journeys.import_manifest(
            session=session, path=manifest(tmp_path, rows[:2]), actor=None
        )
    assert (first.stored, first.already) == (2, 0)
    assert [(p.index, p.field) for p in first.rejected] == [(2, "person_id"), (3, "mode")]
    assert (again.stored, again.already, again.rejected) == (0, 2, [])
    bad = tmp_path / "bad.csv"
    bad.write_text("mode,number,seat\nflight,CZ1,1A\n", encoding="utf-8")
    with pytest.raises(FangkongError) as refused:
        journeys.import_manifest(session=session, path=bad, actor=None)
    assert refused.value.code is TracingErrorCode.IMPORT_COLUMNS_MISSING


def _evidence(
    session: Session, contacts: list[Contact]
) -> dict[int, tuple[str, str, list[tuple[str, str | None]]]]:
    rows = service.evidence_of(session=session, contact_ids=[c.id for c in contacts])
    return {
        c.person_id: (c.category, c.rule_ref, [(e.basis, e.detail) for e in rows[c.id]])
        for c in contacts
    }


def test_a_case_on_a_manifest_gets_its_journey_and_its_seat_neighbours_as_contacts(
    session: Session, personas: Personas, tmp_path: Path
) -> None:
    world = build(session)
    people = passengers(session)
    stamp = BOARDED.isoformat()
    rows = [
        f"flight,CZ3456,2022-11-07,{world.case_person.id},14C,,{stamp}",
        f"flight,CZ3456,2022-11-07,{people['邻座'].id},13A,,{stamp}",
        f"flight,CZ3456,2022-11-07,{people['后排'].id},17B,,{stamp}",
        f"flight,CZ3456,2022-11-07,{people['远座'].id},30A,,{stamp}",
        f"flight,CZ3456,2022-11-07,{people['乘务'].id},,crew,",
        f"flight,CZ3456,2022-11-01,{people['远座'].id},14D,,",  # another day's flight
    ]
    with use_clock(ManualClock(NOW)):
        imported = journeys.import_manifest(
            session=session, path=manifest(tmp_path, rows), actor=None
        )
    assert imported.stored == 6
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    journey_entries = [
        (e.kind, e.source, e.description, e.started_at)
        for e in service.trajectory(session=session, investigation_id=investigation.id)
        if e.journey_id is not None
    ]
    assert journey_entries == [("transport", "auto", "flight CZ3456 2022-11-07 14C", BOARDED)]
    with use_clock(ManualClock(NOW)):
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    on_board = {c.person_id: c for c in contacts if c.person_id in {p.id for p in people.values()}}
    assert _evidence(session, list(on_board.values())) == {
        people["邻座"].id: (
            "close_contact",
            "cn-9@1#tr.close_contact",
            [("transport", "same flight CZ3456 on 2022-11-07, row 13 vs case row 14")],
        ),
        people["后排"].id: (
            "close_contact",
            "cn-9@1#tr.close_contact",
            [("transport", "same flight CZ3456 on 2022-11-07, row 17 vs case row 14")],
        ),
        people["乘务"].id: (
            "close_contact",
            "cn-9@1#tr.close_contact",
            [("transport", "same flight CZ3456 on 2022-11-07, crew")],
        ),
    }
    assert on_board[people["邻座"].id].last_exposure_at == BOARDED


def test_a_journey_entered_by_hand_finds_the_case_s_carriage(
    session: Session, personas: Personas, tmp_path: Path
) -> None:
    world = build(session)
    people = passengers(session)
    path = tmp_path / "g1234.csv"
    path.write_text(
        "mode,number,service_date,person_id,carriage,seat\n"
        f"train,G1234,2022-11-07,{people['邻座'].id},05,01A\n"
        f"train,G1234,2022-11-07,{people['远座'].id},06,08D\n",
        encoding="utf-8",
    )
    with use_clock(ManualClock(NOW)):
        journeys.import_manifest(session=session, path=path, actor=None)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        with pytest.raises(FangkongError) as refused:
            service.add_trajectory_entry(
                session=session,
                actor=actor,
                investigation_id=investigation.id,
                kind=TrajectoryKind.TRANSPORT,
                started_at=None,
                journey={"mode": "boat", "number": "G1234", "service_date": "2022-11-07"},
            )
        assert (refused.value.code, refused.value.field) == (
            TracingErrorCode.JOURNEY_INVALID,
            "journey.mode",
        )
        entry = service.add_trajectory_entry(
            session=session,
            actor=actor,
            investigation_id=investigation.id,
            kind=TrajectoryKind.TRANSPORT,
            started_at=None,
            journey={
                "mode": "train",
                "number": "g1234",
                "service_date": "2022-11-07",
                "carriage": "05",
                "seat": "08D",
            },
        )
        assert (entry.description, entry.started_at) == (
            "train G1234 2022-11-07 05 08D",
            datetime(2022, 11, 7, tzinfo=UTC),
        )
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    on_board = [c for c in contacts if c.person_id in {p.id for p in people.values()}]
    assert _evidence(session, on_board) == {
        people["邻座"].id: (
            "close_contact",
            "cn-9@1#tr.close_contact",
            [("transport", "same train G1234 on 2022-11-07, carriage 05 (the case's carriage)")],
        )
    }


def test_the_transport_rule_is_read_and_a_pack_listing_transport_needs_it() -> None:
    from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
    from fangkong.tracing.section import parse_section
    from tests.tracing.test_companions import BASE_RULES, CONTEXT

    close = {**BASE_RULES[2], "criteria": ["venue", "transport"]}
    rule = {
        "id": "tr.transport",
        "kind": "transport",
        "flight_rows": {"value": 2, "unit": "row"},
        "train_rows": {"value": 1, "unit": "row"},
    }
    section = parse_section({"rules": [*BASE_RULES[:2], close, rule]}, CONTEXT)
    assert section.transport == TransportRule(
        id="tr.transport", flight_rows=2, train_rows=1, same_trip_within=timedelta(minutes=60)
    )
    assert parse_section({"rules": BASE_RULES}, CONTEXT).transport is None
    for rules, code in [
        ([*BASE_RULES[:2], close], RulePackErrorCode.FIELD_MISSING),
        (
            [*BASE_RULES[:2], close, {**rule, "flight_rows": {"value": 1.5, "unit": "row"}}],
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            [*BASE_RULES[:2], close, {**rule, "flight_rows": {"value": 2, "unit": "metre"}}],
            RulePackErrorCode.UNIT_UNKNOWN,
        ),
    ]:
        with pytest.raises(RulePackError) as error:
            parse_section({"rules": rules}, CONTEXT)
        assert error.value.code is code


def test_a_journey_is_entered_through_the_api(
    client: TestClient, session: Session, personas: Personas
) -> None:
    from tests.tracing.test_case_views import _epi

    world = build(session)
    case = open_case(session, epidemiologist(personas), world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    url = f"/api/v1/investigations/{investigation.id}/entries"
    journey = {"mode": "taxi", "number": "湘B12345", "service_date": "2022-11-07"}
    with use_clock(ManualClock(NOW)):
        added = client.post(
            url,
            json={"kind": "transport", "journey": {**journey, "boarded_at": BOARDED.isoformat()}},
            headers=_epi(personas),
        )
        naive = client.post(
            url,
            json={"kind": "transport", "journey": {**journey, "boarded_at": "2022-11-07T06:00:00"}},
            headers=_epi(personas),
        )
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["kind"], body["description"], body["started_at"]) == (
        "transport",
        "taxi 湘B12345 2022-11-07",
        "2022-11-07T06:00:00Z",
    )
    assert body["journey_id"] is not None
    assert naive.status_code == 400
    assert (naive.json()["code"], naive.json()["field"]) == (
        "journey.invalid",
        "journey.boarded_at",
    )
