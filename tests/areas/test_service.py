"""Risk designations in the database: drawing, confirming, the daily job, lifting, status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.areas import actions, jobs, service
from fangkong.areas.enums import Basis, DesignationStatus, RiskLevel, TargetKind
from fangkong.areas.errors import AreasErrorCode
from fangkong.areas.schemas import CasePlace, DayFactsIn
from fangkong.core import audit, clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from tests import places
from tests.authz import snapshot
from tests.personas import HETANG, LUSONG, Personas

START = datetime(2022, 11, 12, 12, 0, tzinfo=UTC)  # 20:00 in Zhuzhou


def officer(personas: Personas, area_code: str = LUSONG) -> Actor:
    return actor_for(personas.user(f"officer-{area_code}", Role.DISTRICT_OFFICER, area_code))


def quiet_day(day: date, **facts: int) -> DayFactsIn:
    return DayFactsIn(day=day, new_infections=0, rounds=1, negative_rounds=1, **facts)


def test_it_lifts_a_confirmed_area_on_the_day_the_pack_says_with_audit_events(
    session: Session, personas: Personas
) -> None:
    actor = officer(personas)
    compound = places.compound(session, "芦淞花园")
    manual = clock.ManualClock(START)
    with clock.use_clock(manual):
        designation = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.HIGH,
            controls=["stay_home"],
            reason="case 1 lives here",
            section=service.section_for(pack_id="cn-20", version=None, now=START),
        )
        actions.confirm(session=session, actor=actor, designation_id=designation.id)
        levels = []
        for day in range(1, 6):
            manual.set(START + timedelta(days=day))
            actions.record_day(
                session=session,
                actor=actor,
                designation_id=designation.id,
                facts=quiet_day(clock.now().date()),
            )
            report = jobs.run_daily_evaluation(session=session)
            levels.append((day, designation.level, designation.status, report.changed))

    assert levels == [
        (1, "high", "confirmed", []),
        (2, "high", "confirmed", []),
        (3, "high", "confirmed", []),
        (4, "high", "confirmed", []),
        (5, "low", "lifted", [designation.id]),
    ]
    assert designation.rule_id == "area.high_to_low"
    history = audit.events_for(
        session=session, subject_type="risk_designation", subject_id=designation.id
    )
    assert [event.action for event in history if not event.action.endswith("day.recorded")] == [
        "areas.designation.proposed",
        "areas.designation.confirmed",
        "areas.designation.evaluated",
    ]
    assert history[-1].rule_ref == "cn-20@1#area.high_to_low"
    assert history[-1].actor_label == "system"
    assert (history[-1].before["level"], history[-1].after["level"]) == ("high", "low")


def test_it_explains_what_a_designation_still_needs(session: Session, personas: Personas) -> None:
    actor = officer(personas)
    compound = places.compound(session, "芦淞花园")
    with clock.use_clock(clock.ManualClock(START)) as manual:
        designation = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.HIGH,
            controls=[],
            reason="case",
            section=service.section_for(pack_id="cn-9", version=None, now=START),
        )
        actions.confirm(session=session, actor=actor, designation_id=designation.id)
        assert isinstance(manual, clock.ManualClock)
        manual.set(START + timedelta(days=5))
        for day in range(1, 6):
            actions.record_day(
                session=session,
                actor=actor,
                designation_id=designation.id,
                facts=quiet_day(START.date() + timedelta(days=day)),
            )
        jobs.run_daily_evaluation(session=session)

    assert designation.level == "high"
    assert designation.explanation == (
        "2 more days without a new infection and an all-negative round on day 7 lift this area "
        "to medium (area.high_to_medium)"
    )


def test_it_refuses_to_designate_outside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    compound = places.compound(session, "芦淞花园")
    hetang = officer(personas, HETANG)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        service.designate(
            session=session,
            actor=hetang,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.HIGH,
            controls=[],
            reason="case",
            section=service.section_for(pack_id="cn-9", version=None, now=START),
        )

    assert refused.value.code == CoreErrorCode.OUTSIDE_JURISDICTION
    assert snapshot(session) == before


def test_it_refuses_a_level_the_pack_does_not_have(session: Session, personas: Personas) -> None:
    compound = places.compound(session, "芦淞花园")
    actor = officer(personas)
    before = snapshot(session)

    with pytest.raises(FangkongError) as refused:
        service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.MEDIUM,
            controls=[],
            reason="case",
            section=service.section_for(pack_id="cn-20", version=None, now=START),
        )

    assert refused.value.code == AreasErrorCode.LEVEL_NOT_IN_PACK
    assert snapshot(session) == before


def test_it_refuses_to_lift_while_a_case_is_open(session: Session, personas: Personas) -> None:
    actor = officer(personas)
    compound = places.compound(session, "芦淞花园")
    with clock.use_clock(clock.ManualClock(START)):
        designation = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.HIGH,
            controls=[],
            reason="case",
            section=service.section_for(pack_id="cn-9", version=None, now=START),
        )
        actions.confirm(session=session, actor=actor, designation_id=designation.id)
        actions.record_day(
            session=session,
            actor=actor,
            designation_id=designation.id,
            facts=quiet_day(START.date(), open_cases=1),
        )
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.lift(
                session=session, actor=actor, designation_id=designation.id, reason="assessed"
            )

        assert refused.value.code == AreasErrorCode.CASE_OPEN
        assert snapshot(session) == before
        actions.record_day(
            session=session,
            actor=actor,
            designation_id=designation.id,
            facts=quiet_day(START.date(), open_cases=0),
        )
        lifted = actions.lift(
            session=session, actor=actor, designation_id=designation.id, reason="assessed"
        )

    assert lifted.status == DesignationStatus.LIFTED


def test_it_waits_for_an_officer_before_returning_a_district_to_normal_zhuzhou(
    session: Session, personas: Personas
) -> None:
    actor = officer(personas)
    lusong = places.area(session, LUSONG)
    manual = clock.ManualClock(START)
    with clock.use_clock(manual):
        designation = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.AREA,
            target_id=lusong.id,
            unit=None,
            level=RiskLevel.LOW,
            controls=[],
            reason="district with cases",
            section=service.section_for(pack_id="zhuzhou-2022-11", version=None, now=START),
        )
        actions.confirm(session=session, actor=actor, designation_id=designation.id)
        for day in range(1, 4):
            manual.set(START + timedelta(days=day))
            actions.record_day(
                session=session,
                actor=actor,
                designation_id=designation.id,
                facts=quiet_day(clock.now().date()),
            )
            report = jobs.run_daily_evaluation(session=session)
        assert report.pending == [designation.id]
        assert (designation.level, designation.pending_level) == ("low", "normal")
        assert jobs.run_daily_evaluation(session=session).pending == []  # idempotent

        actions.confirm_pending(session=session, actor=actor, designation_id=designation.id)

    assert (designation.level, designation.status, designation.pending_level) == (
        "normal",
        "lifted",
        None,
    )
    with pytest.raises(FangkongError) as refused:
        actions.confirm_pending(session=session, actor=actor, designation_id=designation.id)
    assert refused.value.code == AreasErrorCode.NO_PENDING_CHANGE


def test_it_tells_other_domains_the_level_at_a_place(session: Session, personas: Personas) -> None:
    actor = officer(personas)
    compound = places.compound(session, "芦淞花园")
    other = places.compound(session, "建宁小区")
    building = places.building(session, compound, "3栋")
    with clock.use_clock(clock.ManualClock(START)):
        section = service.section_for(pack_id="cn-9", version=None, now=START)
        high = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.UNIT,
            target_id=building.id,
            unit=2,
            level=RiskLevel.HIGH,
            controls=[],
            reason="case",
            section=section,
        )
        medium = service.designate(
            session=session,
            actor=actor,
            target_kind=TargetKind.COMPOUND,
            target_id=compound.id,
            unit=None,
            level=RiskLevel.MEDIUM,
            controls=[],
            reason="case",
            section=section,
        )
        before_confirming = service.risk_status(
            session=session, area_path=compound.area_path, compound_id=compound.id
        )
        for designation in (high, medium):
            actions.confirm(session=session, actor=actor, designation_id=designation.id)

    status = service.risk_status
    path = compound.area_path
    assert before_confirming.level == RiskLevel.NORMAL
    assert status(
        session=session, area_path=path, compound_id=compound.id, building_id=building.id, unit=2
    ).model_dump() == {"level": RiskLevel.HIGH, "designation_id": high.id}
    assert (
        status(
            session=session,
            area_path=path,
            compound_id=compound.id,
            building_id=building.id,
            unit=1,
        ).level
        == RiskLevel.MEDIUM
    )
    assert status(session=session, area_path=path, compound_id=other.id).level == RiskLevel.NORMAL
    assert [a.model_dump() for a in service.list_public(session=session)] == [
        {"name": "芦淞花园3栋2单元", "level": "high"},
        {"name": "芦淞花园", "level": "medium"},
    ]


def test_it_stores_rule_proposals_from_case_places_once(
    session: Session, personas: Personas
) -> None:
    compound = places.compound(session, "芦淞花园")
    building = places.building(session, compound, "3栋")
    place = CasePlace(
        7, Basis.RESIDENCE, compound.area_path, compound_id=compound.id, building_id=building.id
    )
    with clock.use_clock(clock.ManualClock(START)):
        section = service.section_for(pack_id="cn-20", version=None, now=START)
        first = service.propose_from_cases(session=session, places=[place], section=section)
        again = service.propose_from_cases(session=session, places=[place], section=section)

    assert [(d.target_kind, d.building_id, d.level, d.status, d.rule_id) for d in first] == [
        ("building", building.id, "high", "proposed", "area.high.designate")
    ]
    assert again == []
    [event] = audit.events_for(
        session=session, subject_type="risk_designation", subject_id=first[0].id
    )
    assert (event.actor_label, event.rule_ref, event.reason) == (
        "system",
        "cn-20@1#area.high.designate",
        "cases 7",
    )
