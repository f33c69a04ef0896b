"""Spatio-temporal companions (时空伴随者) under the local rule of the Zhuzhou pack: the same
800 m cell as a venue on the case's confirmed trajectory for at least 10 minutes; none under a
pack without the rule; the flag reaches the health-code facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.healthcode.providers import changed_since, tracing_facts
from fangkong.registry.models import Venue
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import Manifest, SectionContext
from fangkong.tracing import actions, companions, rules, service
from fangkong.tracing.models import Case
from fangkong.tracing.section import CompanionRule, parse_section
from tests import places
from tests.personas import Personas
from tests.tracing.world import NOW, SAMPLED, World, build, epidemiologist, open_case

VISIT = SAMPLED - timedelta(hours=20)  # the case scanned the market then


def test_grid_cells_are_about_800_metres_square() -> None:
    market = rules.grid_cell(latitude=27.83, longitude=113.15, grid_m=800)
    assert market == (3872, 13923)
    assert rules.grid_cell(latitude=27.8302, longitude=113.1502, grid_m=800) == market
    assert rules.grid_cell(latitude=27.90, longitude=113.15, grid_m=800) == (3882, 13914)
    assert rules.overlap_minutes(VISIT, VISIT + timedelta(minutes=30), VISIT, VISIT) == 0
    assert (
        rules.overlap_minutes(
            VISIT,
            VISIT + timedelta(minutes=30),
            VISIT + timedelta(minutes=5),
            VISIT + timedelta(minutes=35),
        )
        == 25
    )


def _confirmed(session: Session, personas: Personas, pack_id: str | None) -> tuple[World, Case]:
    place = build(session)
    place.market.latitude, place.market.longitude = 27.83, 113.15
    cafe = Venue(name="街角咖啡", kind="shop", area_path=place.market.area_path)
    cafe.latitude, cafe.longitude = 27.8302, 113.1502  # ~30 m away: the same cell
    far = Venue(name="北站", kind="station", area_path=place.market.area_path)
    far.latitude, far.longitude = 27.90, 113.15
    session.add_all([cafe, far])
    session.flush()
    near = places.person(session, "咖啡客", area_path=place.market.area_path)
    brief = places.person(session, "晚到咖啡客", area_path=place.market.area_path)
    away = places.person(session, "北站旅客", area_path=place.market.area_path)
    session.flush()
    scans = [
        (near.id, cafe.id, VISIT + timedelta(minutes=5)),  # 25 minutes together in the cell
        (brief.id, cafe.id, VISIT + timedelta(minutes=25)),  # 5 minutes: too short
        (away.id, far.id, VISIT),  # another cell
    ]
    with use_clock(ManualClock(NOW)):
        assert (
            service.record_scans(
                session=session,
                scans=[{"person_id": p, "venue_id": v, "scanned_at": t} for p, v, t in scans],
            ).rejected
            == []
        )
    actor = epidemiologist(personas)
    case = open_case(session, actor, place.case_person, pack_id=pack_id)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    return place, case


def test_people_in_the_case_venues_cell_long_enough_are_flagged_with_evidence(
    session: Session, personas: Personas
) -> None:
    place, case = _confirmed(session, personas, "zhuzhou-2022-11")
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None

    flags = companions.companions_of(session=session, investigation_id=investigation.id)
    names = {
        service.people_by_id(session=session, ids=[f.person_id])[f.person_id].name: f for f in flags
    }

    assert sorted(names) == ["咖啡客", "王顾客"]  # the shopper was at the market itself
    near = names["咖啡客"]
    assert (near.case_id, near.case_venue_id, near.minutes, near.cell) == (
        case.id,
        place.market.id,
        25,
        "3872:13923",
    )
    assert near.at == VISIT
    assert near.rule_ref == "zhuzhou-2022-11@1#tr.companion"
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "tracing.companion.flagged")
    ).all()
    assert len(events) == 2

    facts = tracing_facts(session=session, person_ids=[near.person_id], now=NOW)
    assert facts[near.person_id].companion_flagged_at == VISIT
    assert near.person_id in changed_since(session=session, since=NOW)  # codes recomputed

    # Confirming runs once; flagging again adds nobody twice.
    with use_clock(ManualClock(NOW)):
        again = companions.flag_companions(
            session=session, actor=None, investigation=investigation, now=NOW
        )
    assert again == []


def test_a_pack_without_a_companion_rule_flags_nobody(session: Session, personas: Personas) -> None:
    _, case = _confirmed(session, personas, None)  # cn-9: no local companion rule
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    assert companions.companions_of(session=session, investigation_id=investigation.id) == []


BASE_RULES: list[dict[str, object]] = [
    {"id": "i", "kind": "investigation", "due_within": {"value": 24, "unit": "hour"}},
    {"id": "l", "kind": "lookback", "before": {"value": 2, "unit": "day"}},
    {
        "id": "c",
        "kind": "close_contact",
        "criteria": ["venue"],
        "handover_within": {"value": 12, "unit": "hour"},
    },
]
CONTEXT = SectionContext(
    Manifest(
        id="local",
        version=3,
        title="local",
        series="local",
        effective_from=datetime(2022, 1, 1, tzinfo=UTC),
        effective_until=None,
        base=None,
        sources={},
    ),
    "local/tracing.yaml",
)


def test_the_companion_rule_is_read_with_its_default_and_a_bad_cell_is_refused() -> None:
    rule = {"id": "comp", "kind": "companion", "grid": {"value": 500, "unit": "metre"}}
    bad = {**rule, "grid": {"value": 0, "unit": "metre"}}
    wrong_unit = {**rule, "grid": {"value": 500, "unit": "minute"}}

    section = parse_section({"rules": [*BASE_RULES, rule]}, CONTEXT)

    assert section.companion == CompanionRule(
        id="comp", grid_m=500.0, min_overlap=timedelta(minutes=10)
    )
    assert parse_section({"rules": BASE_RULES}, CONTEXT).companion is None
    for raw, code in [
        (bad, RulePackErrorCode.FIELD_INVALID),
        (wrong_unit, RulePackErrorCode.UNIT_UNKNOWN),
    ]:
        with pytest.raises(RulePackError) as error:
            parse_section({"rules": [*BASE_RULES, raw]}, CONTEXT)
        assert (error.value.code, error.value.rule_id) == (code, "comp")
